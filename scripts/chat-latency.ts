/**
 * Added latency of the chat stream: for each token, the time from the fake Gemini server
 * writing it to the bytes arriving on `curl -N`'s stdout, over 1,000 tokens through the
 * whole path (real @google/genai SDK → our stream → node:http → curl), and the same for a
 * raw relay (plain `fetch` stream → raw node:http SSE writer → curl, scripts/raw-relay.ts)
 * in interleaved runs, so the added latency is also a ratio. Each run also counts the tail
 * tokens (over 2 ms) that overlapped a GC pause of this process (which runs the fake model,
 * the API and the reader of curl's output alike). Also what one chat turn costs in DynamoDB
 * capacity is measured by `npm run capacity`.
 *
 *   npm run chat-latency            (one JSON line per run: median, p99, max, ratios; RUNS=3)
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createParser } from "eventsource-parser";
import { createProviders } from "../backend/ai/providers.ts";
import { createApi } from "../backend/api/index.ts";
import { serve } from "../backend/api/adapters/node.ts";
import { loadConfig } from "../backend/config.ts";
import { exportSecrets, generateSecrets } from "../backend/local/secrets.ts";
import { provision } from "../backend/local/provision.ts";
import { freePort, localAwsEnv, startDynamoDbLocal, startFauxqs, stopLocalServices } from "../backend/local/services.ts";
import { compose } from "../backend/compose.ts";
import { dynamoClient } from "../backend/ports/aws.ts";
import { clock, startFakeGemini } from "../fixtures/fake-gemini.ts";
import { startRawRelay } from "./raw-relay.ts";

const TOKENS = Number(process.env.TOKENS ?? 1000);
const GAP_MS = Number(process.env.GAP_MS ?? 10);
const RUNS = Number(process.env.RUNS ?? 3);
const TURNS = Number(process.env.TURNS ?? 50);
const quiet = { info() {}, warn() {}, error() {} };
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const card = {
  name: "Aki",
  tagline: "Brave",
  personality: "Calm.",
  speaking_style: "Short.",
  greeting: "Hey.",
  interests: ["tea"],
  visual_description: "Scarf.",
  system_prompt: "x",
};
const gemini = await startFakeGemini({
  fallback: (r) =>
    r.model.includes("image")
      ? { kind: "image", bytes: new Uint8Array([137, 80, 78, 71]), mimeType: "image/png" }
      : { kind: "json", value: card },
});
try {
  const [dynamodb, fauxqs] = await Promise.all([freePort().then((port) => startDynamoDbLocal({ port })), startFauxqs({ port: 0 })]);
  const env = {
    ...process.env,
    ...localAwsEnv(dynamodb, fauxqs),
    GEMINI_API_KEY: "latency",
    GEMINI_BASE_URL: gemini.url,
    AUTH_MODE: "local",
    TABLE_NAME: "latency",
    MEDIA_BUCKET: "latency-media",
    CHAT_MESSAGES_PER_MINUTE: "0",
    CHAT_DAILY_TOKEN_BUDGET: "0",
    CHAT_MAX_OUTPUT_TOKENS: String(TOKENS * 2),
  };
  Object.assign(process.env, env);
  exportSecrets(generateSecrets());
  const queues = await provision({
    tableName: "latency",
    synthesisQueue: "latency-s",
    imageQueue: "latency-i",
    mediaBucket: "latency-media",
  });
  const config = loadConfig({ ...process.env, SYNTHESIS_QUEUE_URL: queues.synthesisQueueUrl, IMAGE_QUEUE_URL: queues.imageQueueUrl });

  // A ready persona, made by the saga's own steps.
  const uid = `latency-${randomUUID()}`;
  const domains = compose(config, createProviders(process.env, quiet));
  const server = await serve(createApi(config, { logger: quiet, domains }), { port: 0, host: "127.0.0.1" });
  const post = (path: string, body: unknown) =>
    fetch(server.url + path, {
      method: "POST",
      headers: { "x-user-uid": uid, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const { survey_id } = (await (await post("/v1/surveys", {})).json()) as { survey_id: string };
  const ratings = {
    outgoing: 5,
    critical: 2,
    dependable: 6,
    anxious: 3,
    open: 6,
    reserved: 3,
    warm: 6,
    careless: 2,
    stable: 5,
    conventional: 2,
  };
  for (let i = 0; i < 3; i++) {
    // Friends answer anonymously (the owner may not answer their own survey here).
    await fetch(`${server.url}/v1/surveys/${survey_id}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        fingerprint: `latency-device-${i}`,
        answers: { adjectives: ["kind", "wise", "calm", "bold", "able"], ratings },
      }),
    });
  }
  const { sagaId } = await domains.personas.start(uid);
  await domains.saga.synthesis({ uid, sagaId }, { receiveCount: 1, maxReceiveCount: 5 });
  await domains.saga.illustration({ uid, sagaId }, { receiveCount: 1, maxReceiveCount: 5 });
  const { chat_id: chatId } = (await (await post("/v1/chats", {})).json()) as { chat_id: string };

  // The baseline: the same fake reply through plain fetch and a raw node:http SSE writer (raw-relay.ts).
  const raw = await startRawRelay(gemini.url);

  /** One reply of TOKENS chunks, GAP_MS apart, read by curl -N from `url`: each token's added latency, sorted. */
  async function measure(url: string, headers: string[]): Promise<{ latencies: number[]; gcOverlapping: (ms: number) => number }> {
    gemini.enqueue({ kind: "text", chunks: Array.from({ length: TOKENS }, (_, i) => ` t${i}`), delayMs: GAP_MS });
    const seen = gemini.requests.length;
    const arrivals: number[] = [];
    const parser = createParser({ onEvent: (e) => e.event === "token" && arrivals.push(clock()) });
    const pauses: { start: number; end: number }[] = [];
    const gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const start = performance.timeOrigin + entry.startTime;
        pauses.push({ start, end: start + entry.duration });
      }
    });
    gc.observe({ entryTypes: ["gc"] });
    const curl = spawn("curl", ["-N", "-s", "-X", "POST", url, ...headers, "-H", "accept: text/event-stream", "-d", '{"text":"talk"}']);
    curl.stdout.on("data", (chunk: Buffer) => parser.feed(chunk.toString()));
    await new Promise((resolve) => curl.on("close", resolve));
    gc.disconnect();
    const sent = gemini.requests.slice(seen).find((r) => r.method === "streamGenerateContent")!.sentAt;
    const spans = arrivals.map((at, i) => ({ sent: sent[i]!, at, latency: at - sent[i]! }));
    return {
      latencies: spans.map((x) => x.latency).sort((a, b) => a - b),
      // Of the tokens slower than `ms`, how many had a GC pause of this process between their write and their arrival.
      gcOverlapping: (ms) => spans.filter((x) => x.latency > ms && pauses.some((p) => p.start < x.at && p.end > x.sent)).length,
    };
  }

  const summary = (latencies: number[]) => ({
    median: +percentile(latencies, 50).toFixed(3),
    p99: +percentile(latencies, 99).toFixed(3),
    max: +latencies.at(-1)!.toFixed(3),
  });
  // Interleaved runs, ours then the raw relay, so both see the same machine.
  for (let run = 1; run <= RUNS; run++) {
    const ours = await measure(`${server.url}/v1/chats/${chatId}/messages`, [
      "-H",
      `x-user-uid: ${uid}`,
      "-H",
      "content-type: application/json",
    ]);
    const base = await measure(raw.url, []);
    const o = summary(ours.latencies);
    const r = summary(base.latencies);
    const slow = (m: typeof ours, threshold: number) => ({
      over: m.latencies.filter((x) => x > threshold).length,
      with_gc: m.gcOverlapping(threshold),
    });
    console.log(
      JSON.stringify({
        run,
        tokens: ours.latencies.length,
        gap_ms: GAP_MS,
        added_latency_ms: o,
        raw_relay_ms: r,
        ratio: { median: +(o.median / r.median).toFixed(2), p99: +(o.p99 / r.p99).toFixed(2), max: +(o.max / r.max).toFixed(2) },
        // Where the tail comes from: tokens over 2 ms, and how many of them overlapped a GC pause of this process.
        tail_over_2ms: { ours: slow(ours, 2), raw_relay: slow(base, 2) },
      }),
    );
  }

  // Time to ask the model (target 3): TURNS short turns one after another, request sent → the
  // fake model's request arrived, ours against the raw relay's; and the DynamoDB requests our
  // server made before the model was asked, with the longest chain of them (sequential round trips).
  const calls: { name: string; start: number; end: number }[] = [];
  dynamoClient().middlewareStack.add(
    (next, context) => async (args) => {
      const call = { name: String(context.commandName ?? "?").replace(/Command$/, ""), start: clock(), end: Number.POSITIVE_INFINITY };
      calls.push(call);
      try {
        return await next(args);
      } finally {
        call.end = clock();
      }
    },
    { step: "initialize", name: "chatLatencyRoundTrips" },
  );
  const asks = async (url: string, headers: Record<string, string>) => {
    const waits: number[] = [];
    const depths: number[] = [];
    const counts: number[] = [];
    let names = "";
    for (let i = 0; i < TURNS; i++) {
      gemini.enqueue({ kind: "text", chunks: ["ok"] });
      const seen = gemini.requests.length;
      calls.length = 0;
      const sent = clock();
      const res = await fetch(url, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", accept: "text/event-stream" },
        body: '{"text":"hi"}',
      });
      await res.text();
      const asked = gemini.requests.slice(seen).find((r) => r.method === "streamGenerateContent")!.receivedAt;
      waits.push(asked - sent);
      const before = calls.filter((c) => c.end <= asked);
      counts.push(before.length);
      names = before
        .sort((a, b) => a.start - b.start)
        .map((c) => c.name)
        .join(", ");
      // The longest chain: each call after the last one that had ended when it was sent.
      const depth = new Map<(typeof before)[number], number>();
      for (const c of [...before].sort((a, b) => a.start - b.start))
        depth.set(c, 1 + Math.max(0, ...before.filter((d) => d.end <= c.start).map((d) => depth.get(d) ?? 0)));
      depths.push(Math.max(0, ...depth.values()));
    }
    const sorted = waits.sort((a, b) => a - b);
    return {
      p50: +percentile(sorted, 50).toFixed(3),
      p99: +percentile(sorted, 99).toFixed(3),
      calls: Math.max(...counts),
      sequential: Math.max(...depths),
      names,
    };
  };
  const oursAsk = await asks(`${server.url}/v1/chats/${chatId}/messages`, { "x-user-uid": uid });
  const rawAsk = await asks(raw.url, {});
  console.log(
    JSON.stringify({
      model_asked_after_ms: { turns: TURNS, ours: { p50: oursAsk.p50, p99: oursAsk.p99 }, raw_relay: { p50: rawAsk.p50, p99: rawAsk.p99 } },
      overhead_ms: { p50: +(oursAsk.p50 - rawAsk.p50).toFixed(3), p99: +(oursAsk.p99 - rawAsk.p99).toFixed(3) },
      dynamodb_before_the_model: { requests: oursAsk.calls, sequential_round_trips: oursAsk.sequential, last_turn: oursAsk.names },
    }),
  );
  await raw.close();
  await server.close(0);
} finally {
  await gemini.close();
  await stopLocalServices();
}
