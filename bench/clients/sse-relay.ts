/**
 * Load process of section 2: opens `streams` concurrent SSE requests, parses every event,
 * and reports throughput, time to first byte and per-event added latency (the producer's
 * timestamp inside each event against the moment the client parsed it; both clocks are
 * `performance.timeOrigin + performance.now()` on the same machine).
 *
 * With `sequential`, the streams are opened one after another instead (each read to its
 * end first): time to first byte without the client's own queueing in the way.
 *
 * Usage (IPC child of the benchmark): node bench/clients/sse-relay.ts '{"url":…,"streams":200,"events":1000}'
 */
import { Agent, request } from "node:http";

const {
  url,
  streams,
  events,
  sequential = false,
  timeoutMs = 60_000,
} = JSON.parse(process.argv[2]!) as {
  url: string;
  streams: number;
  events: number;
  sequential?: boolean;
  timeoutMs?: number;
};
const clock = () => performance.timeOrigin + performance.now();
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

const latencies = new Float64Array(streams * events);
let received = 0;
let failures = 0;
const ttfb: number[] = [];
const firstEvent: number[] = [];
const started = clock();
let lastEventAt = started;

function one(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = clock();
    let sawEvent = false;
    let buffer = "";
    const req = request(url, { agent, headers: { accept: "text/event-stream" } }, (res) => {
      ttfb.push(clock() - t0);
      if (res.statusCode !== 200) failures++;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const now = clock();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const at = block.indexOf('"t":');
          if (at === -1) continue; // a comment (heartbeat)
          if (!sawEvent) {
            sawEvent = true;
            firstEvent.push(now - t0);
          }
          if (received < latencies.length) latencies[received] = now - parseFloat(block.slice(at + 4));
          received++;
          lastEventAt = now;
        }
      });
      res.on("end", resolve);
      res.on("error", () => {
        failures++;
        resolve();
      });
    });
    req.on("error", () => {
      failures++;
      resolve();
    });
    req.end();
  });
}

const timedOut = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, true).unref());
async function inTurn(): Promise<void> {
  for (let i = 0; i < streams; i++) await one();
}
const all = sequential ? inTurn() : Promise.all(Array.from({ length: streams }, one));
const finished = await Promise.race([all.then(() => false), timedOut]);
const sorted = (values: ArrayLike<number>) => Float64Array.from(values).sort();
const pct = (s: Float64Array, p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : NaN);
const lat = sorted(latencies.subarray(0, Math.min(received, latencies.length)));
const ttfbSorted = sorted(ttfb);
const firstSorted = sorted(firstEvent);
process.send!(
  {
    type: "result",
    timedOut: finished,
    streams,
    expected: streams * events,
    received,
    failures,
    seconds: (lastEventAt - started) / 1000,
    eventsPerSecond: received / ((lastEventAt - started) / 1000),
    ttfb: { p50: pct(ttfbSorted, 50), p99: pct(ttfbSorted, 99) },
    firstEvent: { p50: pct(firstSorted, 50), p99: pct(firstSorted, 99) },
    latency: { p50: pct(lat, 50), p99: pct(lat, 99), max: lat.length ? lat[lat.length - 1] : NaN },
  },
  () => process.exit(0),
);
