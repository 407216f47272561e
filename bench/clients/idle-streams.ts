/**
 * Load process of section 3: opens `connections` SSE streams that stay idle (the server
 * sends only heartbeat comments), then on command counts the heartbeats each stream gets
 * during a hold window, and finally closes them all.
 *
 *   → {type:"open", opened, failed, ms}          once every stream has its response head
 *   ← {type:"hold", ms}  → {type:"held", …}      heartbeats per stream during `ms`
 *   ← {type:"close"}                               destroys every socket and exits
 */
import { Agent, request, type ClientRequest } from "node:http";

const { url, connections, batch = 500 } = JSON.parse(process.argv[2]!) as { url: string; connections: number; batch?: number };
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const requests: ClientRequest[] = [];
const beats = new Uint32Array(connections);
let failed = 0;
let firstError = "";

function open(index: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers: { accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) failed++;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        for (let at = chunk.indexOf("heartbeat"); at !== -1; at = chunk.indexOf("heartbeat", at + 1)) beats[index]!++;
      });
      res.on("error", () => {});
      resolve();
    });
    req.on("error", (error) => {
      failed++;
      firstError ||= error.message;
      resolve();
    });
    req.end();
    requests.push(req);
  });
}

const started = performance.now();
for (let i = 0; i < connections; i += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, connections - i) }, (_, j) => open(i + j)));
}
process.send!({ type: "open", opened: connections - failed, failed, firstError, ms: performance.now() - started });

process.on("message", async (message: { type: string; ms?: number }) => {
  if (message.type === "hold") {
    beats.fill(0);
    await new Promise((resolve) => setTimeout(resolve, message.ms));
    const sorted = Uint32Array.from(beats).sort();
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
    const expected = Math.floor(message.ms! / Number(process.env.HEARTBEAT_MS ?? 1000)) - 1;
    process.send!({
      type: "held",
      min: sorted[0],
      p50: at(50),
      max: sorted[sorted.length - 1],
      expected,
      atLeastExpected: sorted.filter((b) => b >= expected).length,
    });
  } else if (message.type === "close") {
    for (const req of requests) req.destroy();
    setTimeout(() => process.exit(0), 200);
  }
});
