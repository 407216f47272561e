/**
 * Section 3: 10,000 concurrent idle SSE streams with heartbeats. The server (ours through
 * the full app, then a raw node:http writer with a heartbeat timer per stream, for the
 * ratio) runs with a raised open-file limit and `--expose-gc`; a separate load process
 * opens the streams (also with a raised limit), then counts the heartbeats each stream gets
 * during a hold window. Memory per stream is the growth of the server's resident set (after
 * a full GC) from before the streams opened to while they are held, divided by their number.
 */
import { ofType, startNode, type Child } from "../lib/processes.ts";
import type { SectionResult, SummaryRow } from "../lib/report.ts";
import { bytes, num, ratio, sleep, table, verdict } from "../lib/stats.ts";

const TITLE = "3. Concurrent idle streams";
const STREAMS = Number(process.env.BENCH_IDLE_STREAMS ?? 10_000);
const HEARTBEAT_MS = 1000;
const HOLD_MS = 5000;
const NOFILE = 65_536;
const TARGET_BYTES = 40 * 1024;

interface Memory {
  rss: number;
  heapUsed: number;
}
interface Held {
  min: number;
  p50: number;
  max: number;
  expected: number;
  atLeastExpected: number;
}
interface Opened {
  opened: number;
  failed: number;
  firstError: string;
  ms: number;
}
interface Outcome {
  base: Memory;
  held: Memory;
  opened: Opened;
  beats: Held;
  perStream: number;
  heapPerStream: number;
}

const SERVERS = [
  { key: "ours", label: "**ours** (`stream()` via the full app)", script: "bench/servers/ours.ts" },
  { key: "raw", label: "raw node:http, one `setInterval` per stream", script: "bench/servers/node-http.ts" },
];

async function memory(server: Child): Promise<Memory> {
  server.send({ type: "memory" });
  return server.message(ofType<Memory>("memory"));
}

async function hold(script: string, commands: Set<string>): Promise<Outcome> {
  const server = startNode("idle-server", script, [], {
    stdout: "null",
    nofile: NOFILE,
    nodeArgs: ["--expose-gc"],
    env: { AWS_REGION: "us-east-1", SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) },
  });
  commands.add(`${server.command}   # with SSE_HEARTBEAT_MS=${HEARTBEAT_MS}`);
  let client: Child | undefined;
  try {
    const { port } = await server.message(ofType<{ port: number }>("listening"));
    const url = `http://127.0.0.1:${port}/v1/bench/idle`;
    // Warm-up: the first streams pay for code loading and JIT, not for being held.
    const warm = startNode("idle-warmup", "bench/clients/idle-streams.ts", [JSON.stringify({ url, connections: 200 })], { tsx: false });
    await warm.message(ofType<Opened>("open"));
    warm.send({ type: "close" });
    await warm.exited;
    await sleep(500);
    const base = await memory(server);
    const args = JSON.stringify({ url, connections: STREAMS });
    client = startNode("idle-client", "bench/clients/idle-streams.ts", [args], {
      tsx: false,
      nofile: NOFILE,
      env: { HEARTBEAT_MS: String(HEARTBEAT_MS) },
    });
    commands.add(`(ulimit -n ${NOFILE}; node bench/clients/idle-streams.ts '${args.replace(/:\d+\//, ":<port>/")}')`);
    const opened = await client.message(ofType<Opened>("open"), 120_000);
    client.send({ type: "hold", ms: HOLD_MS });
    await sleep(HOLD_MS / 2);
    const held = await memory(server);
    const beats = await client.message(ofType<Held>("held"), HOLD_MS + 30_000);
    const n = Math.max(1, opened.opened);
    return { base, held, opened, beats, perStream: (held.rss - base.rss) / n, heapPerStream: (held.heapUsed - base.heapUsed) / n };
  } finally {
    client?.send({ type: "close" });
    await client?.stop("SIGTERM", 3000);
    await server.stop("SIGTERM", 5000);
  }
}

export async function idleStreamsSection(): Promise<SectionResult> {
  const commands = new Set<string>();
  const outcomes = new Map<string, Outcome>();
  for (const server of SERVERS) {
    const outcome = await hold(server.script, commands);
    outcomes.set(server.key, outcome);
    console.log(
      `  ${server.key.padEnd(5)} ${outcome.opened.opened} open (${outcome.opened.failed} failed) in ${num(outcome.opened.ms / 1000, 1)} s; ` +
        `${bytes(outcome.perStream)} RSS/stream; heartbeats per stream in ${HOLD_MS / 1000} s: min ${outcome.beats.min}, max ${outcome.beats.max}`,
    );
  }
  const raw = outcomes.get("raw");
  const rows = SERVERS.map((server) => {
    const o = outcomes.get(server.key)!;
    return [
      server.label,
      `${num(o.opened.opened)} / ${num(STREAMS)}`,
      `${num(o.opened.ms / 1000, 1)} s`,
      bytes(o.base.rss),
      bytes(o.held.rss),
      bytes(o.perStream),
      ratio(o.perStream, raw?.perStream),
      bytes(o.heapPerStream),
      ratio(o.heapPerStream, raw?.heapPerStream),
      `${o.beats.min} / ${o.beats.p50} / ${o.beats.max}`,
      `${num(o.beats.atLeastExpected)} (${((o.beats.atLeastExpected / Math.max(1, o.opened.opened)) * 100).toFixed(1)}%)`,
    ];
  });
  const ours = outcomes.get("ours")!;
  const summary: SummaryRow[] = [
    {
      section: TITLE,
      metric: `${num(STREAMS)} idle streams: RSS per stream`,
      value: bytes(ours.perStream),
      ratio: `${ratio(ours.perStream, raw?.perStream)} raw; ${ratio(ours.perStream, TARGET_BYTES)} of target`,
      target: `all ${num(STREAMS)} held, ≤ 40 KiB each`,
      verdict:
        ours.opened.opened < STREAMS
          ? `**missed**: ${ours.opened.opened} held (${ours.opened.failed} failed: ${ours.opened.firstError})`
          : verdict(ours.perStream / 1024, 40, { atMost: true, unit: " KiB" }),
    },
    {
      section: TITLE,
      metric: `heartbeats (every ${HEARTBEAT_MS / 1000} s, ${HOLD_MS / 1000} s window)`,
      value: `min ${ours.beats.min}, median ${ours.beats.p50} per stream`,
      ratio: `${((ours.beats.atLeastExpected / Math.max(1, ours.opened.opened)) * 100).toFixed(1)}% of streams got ≥ ${ours.beats.expected}`,
      target: "every stream gets its heartbeats",
      verdict: ours.beats.atLeastExpected === ours.opened.opened && ours.opened.opened === STREAMS ? "met" : "**missed**",
    },
  ];
  const body = [
    `${num(STREAMS)} SSE streams on \`GET /v1/bench/idle\` (a producer that only waits for the client to leave), opened by a separate load ` +
      `process in batches of 500 (bench/clients/idle-streams.ts), both processes with the open-file limit raised to ${num(NOFILE)} ` +
      `(\`ulimit -n\` in a shell that then execs node). Heartbeats every ${HEARTBEAT_MS / 1000} s (\`SSE_HEARTBEAT_MS\`), counted per stream ` +
      `over a ${HOLD_MS / 1000} s hold window; a stream "got its heartbeats" with at least ${ours.beats.expected} in the window ` +
      `(one fewer than the window allows, for its edges). Memory: the server's RSS and V8 heap after a full GC (\`--expose-gc\`), ` +
      "before opening (after a 200-stream warm-up) and in the middle of the hold; per stream = growth ÷ streams held. " +
      "The raw writer is the floor: node:http's own request/response/socket objects plus one timer.",
    "",
    table(
      [
        "server",
        "streams held",
        "time to open",
        "RSS before",
        "RSS held",
        "RSS/stream",
        "× raw",
        "heap/stream",
        "× raw",
        "heartbeats min / median / max",
        "streams with all heartbeats",
      ],
      rows,
    ),
  ].join("\n");
  return { title: TITLE, body, summary, commands: [...commands] };
}
