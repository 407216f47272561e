/**
 * Section 2: the SSE relay. Each server streams 1,000 events from an in-process producer on
 * each of 200 concurrent streams; a separate load process parses every event.
 *
 * - burst: the producer writes as fast as the socket takes it → events/s, server CPU per event
 *   (three rounds, interleaved across the servers, best round reported);
 * - paced: one event per stream every 5 ms (40,000 events/s in all) → added latency per event,
 *   from the producer's timestamp inside the event to the client having parsed it;
 * - first byte: 300 single-event streams opened one after another on an idle server → time
 *   to first byte (response head) and to the first event.
 * Each round runs all three per server; the round the machine disturbed least is reported.
 */
import { join } from "node:path";
import type { ProfileSummary } from "../lib/cpuprofile.ts";
import { cpuMsOf, ofType, startNode, type Child } from "../lib/processes.ts";
import { categoryLine, PROFILE_DIR, profileMarkdown, profileWindow, shareOf } from "../lib/profile.ts";
import type { SectionResult, SummaryRow } from "../lib/report.ts";
import { num, ratio, table, verdict } from "../lib/stats.ts";

const TITLE = "2. SSE relay";
const STREAMS = 200;
const EVENTS = 1000;
const PACE_MS = 5;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SEQUENTIAL = 300;
/** Paced runs take 5 s each: in the first two rounds only, to stay inside the time budget. */
const PACED_ROUNDS = 2;

interface RelayResult {
  timedOut: boolean;
  expected: number;
  received: number;
  failures: number;
  seconds: number;
  eventsPerSecond: number;
  ttfb: { p50: number; p99: number };
  firstEvent: { p50: number; p99: number };
  latency: { p50: number; p99: number; max: number };
  cpuUsPerEvent?: number;
}

const SERVERS = [
  { key: "raw", label: "raw node:http writer (baseline)", script: "bench/servers/node-http.ts" },
  { key: "ours", label: "**ours** (`stream()` via the full app)", script: "bench/servers/ours.ts" },
  { key: "hono", label: "hono `streamSSE`", script: "bench/servers/hono.ts" },
];

async function relay(
  server: Child,
  base: string,
  spec: { streams: number; events: number; interval: number; sequential?: boolean },
  commands?: Set<string>,
): Promise<RelayResult> {
  const url = `${base}/v1/bench/sse?events=${spec.events}&interval=${spec.interval}`;
  const args = JSON.stringify({ url, streams: spec.streams, events: spec.events, sequential: spec.sequential, timeoutMs: 90_000 });
  const cpuBefore = await cpuMsOf(server.pid);
  const client = startNode("sse-client", "bench/clients/sse-relay.ts", [args], { tsx: false });
  try {
    const result = await client.message(ofType<RelayResult>("result"), 120_000);
    const cpuAfter = await cpuMsOf(server.pid);
    if (cpuBefore !== undefined && cpuAfter !== undefined)
      result.cpuUsPerEvent = ((cpuAfter - cpuBefore) * 1000) / Math.max(1, result.received);
    commands?.add(`node bench/clients/sse-relay.ts '${args.replace(/:\d+\//, ":<port>/")}'`);
    return result;
  } finally {
    await client.stop();
  }
}

export async function sseRelaySection(): Promise<SectionResult> {
  const commands = new Set<string>();
  const running: { key: string; child: Child; base: string }[] = [];
  const bursts = new Map<string, RelayResult[]>();
  const paced = new Map<string, RelayResult[]>();
  const firsts = new Map<string, RelayResult[]>();
  let profile: ProfileSummary | undefined;
  try {
    for (const server of SERVERS) {
      const child = startNode(server.key, server.script, [], { stdout: "null", env: { AWS_REGION: "us-east-1" } });
      commands.add(child.command);
      const { port } = await child.message(ofType<{ port: number }>("listening"));
      running.push({ key: server.key, child, base: `http://127.0.0.1:${port}` });
    }
    for (const { child, base } of running) await relay(child, base, { streams: STREAMS, events: EVENTS, interval: 0 }); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < running.length; i++) {
        const { key, child, base } = running[(i + round) % running.length]!;
        const result = await relay(child, base, { streams: STREAMS, events: EVENTS, interval: 0 }, commands);
        bursts.set(key, [...(bursts.get(key) ?? []), result]);
        const opened = await relay(child, base, { streams: SEQUENTIAL, events: 1, interval: 0, sequential: true }, commands);
        firsts.set(key, [...(firsts.get(key) ?? []), opened]);
        const steady =
          round < PACED_ROUNDS ? await relay(child, base, { streams: STREAMS, events: EVENTS, interval: PACE_MS }, commands) : undefined;
        if (steady) paced.set(key, [...(paced.get(key) ?? []), steady]);
        console.log(
          `  ${key.padEnd(5)} round ${round + 1}: burst ${num(result.eventsPerSecond)} events/s, ${num(result.cpuUsPerEvent, 2)} µs CPU/event; ` +
            `TTFB p50 ${num(opened.ttfb.p50)} ms` +
            (steady ? `; paced latency p50 ${num(steady.latency.p50)} ms, p99 ${num(steady.latency.p99)} ms` : ""),
        );
      }
    }
    // One more burst of ours under the V8 profiler, for where its time goes.
    const ours = running.find((r) => r.key === "ours")!;
    const profiling = await profileWindow(ours.child, join(PROFILE_DIR, "ours-sse-burst.cpuprofile"));
    await relay(ours.child, ours.base, { streams: STREAMS, events: EVENTS, interval: 0 });
    profile = await profiling.stop();
  } finally {
    await Promise.all(running.map(({ child }) => child.stop()));
  }

  const burst = (key: string) => {
    const rounds = bursts.get(key) ?? [];
    return {
      // Best round, as in section 1: a shared VM only ever takes throughput away.
      eps: Math.max(...rounds.map((r) => r.eventsPerSecond)),
      cpu: Math.min(...rounds.map((r) => r.cpuUsPerEvent ?? Infinity)),
      all: rounds.map((r) => num(r.eventsPerSecond)).join(" / "),
      received: rounds.reduce((n, r) => n + r.received, 0),
      expected: rounds.reduce((n, r) => n + r.expected, 0),
      failures: rounds.reduce((n, r) => n + r.failures, 0),
    };
  };
  /** The round with the lowest `score`: the one the shared machine disturbed least. */
  const best = (rounds: RelayResult[] | undefined, score: (r: RelayResult) => number) =>
    rounds?.reduce<RelayResult | undefined>((b, r) => (!b || score(r) < score(b) ? r : b), undefined);
  const first = { get: (key: string) => best(firsts.get(key), (r) => r.ttfb.p50) };
  const steadyOf = (key: string) => best(paced.get(key), (r) => r.latency.p99);
  const perRound = (rounds: RelayResult[] | undefined, pick: (r: RelayResult) => number) =>
    (rounds ?? []).map((r) => num(pick(r))).join(" / ");
  const raw = { burst: burst("raw"), paced: steadyOf("raw"), first: first.get("raw") };
  const rows = SERVERS.map((server) => {
    const b = burst(server.key);
    const p = steadyOf(server.key);
    const f = first.get(server.key);
    return [
      server.label,
      num(b.eps),
      ratio(b.eps, raw.burst.eps),
      `${num(b.cpu, 2)} µs`,
      ratio(b.cpu, raw.burst.cpu),
      `${num(p?.latency.p50)} ms`,
      ratio(p?.latency.p50, raw.paced?.latency.p50),
      `${num(p?.latency.p99)} ms`,
      ratio(p?.latency.p99, raw.paced?.latency.p99),
      `${num(f?.ttfb.p50)} / ${num(f?.ttfb.p99)} ms`,
      ratio(f?.ttfb.p50, raw.first?.ttfb.p50),
      `${num(f?.firstEvent.p50)} ms`,
      ratio(f?.firstEvent.p50, raw.first?.firstEvent.p50),
    ];
  });
  const detail = SERVERS.map((server) => {
    const b = burst(server.key);
    const rounds = [...(bursts.get(server.key) ?? []), ...(paced.get(server.key) ?? []), ...(firsts.get(server.key) ?? [])];
    return [
      server.label,
      b.all,
      perRound(paced.get(server.key), (r) => r.latency.p99),
      perRound(firsts.get(server.key), (r) => r.ttfb.p50),
      `${num(rounds.reduce((n, r) => n + r.received, 0))} / ${num(rounds.reduce((n, r) => n + r.expected, 0))}`,
      rounds.reduce((n, r) => n + r.failures, 0),
    ];
  });

  const summary: SummaryRow[] = [];
  const ours = { burst: burst("ours"), paced: steadyOf("ours"), first: first.get("ours") };
  summary.push({
    section: TITLE,
    metric: `events/s, ${STREAMS} streams × ${num(EVENTS)} events`,
    value: num(ours.burst.eps),
    ratio: `${ratio(ours.burst.eps, raw.burst.eps)} raw (hono ${ratio(burst("hono").eps, raw.burst.eps)})`,
    target: "within 10% of raw (≥ 0.90×)",
    verdict: verdict(ours.burst.eps / raw.burst.eps, 0.9),
  });
  summary.push({
    section: TITLE,
    metric: "server CPU per event (burst)",
    value: `${num(ours.burst.cpu, 2)} µs`,
    ratio: `${ratio(ours.burst.cpu, raw.burst.cpu)} raw (hono ${ratio(burst("hono").cpu, raw.burst.cpu)})`,
    target: "within 10% of raw (≤ 1.10×)",
    verdict: verdict(ours.burst.cpu / raw.burst.cpu, 1.1, { atMost: true }),
  });
  summary.push({
    section: TITLE,
    metric: "added latency per event p50 / p99 (paced)",
    value: `${num(ours.paced?.latency.p50)} / ${num(ours.paced?.latency.p99)} ms`,
    ratio: `${ratio(ours.paced?.latency.p50, raw.paced?.latency.p50)} / ${ratio(ours.paced?.latency.p99, raw.paced?.latency.p99)} raw`,
    target: "within 10% of raw (p99 ≤ 1.10×)",
    verdict: verdict((ours.paced?.latency.p99 ?? NaN) / (raw.paced?.latency.p99 ?? NaN), 1.1, { atMost: true }),
  });
  summary.push({
    section: TITLE,
    metric: "time to first byte p50 / p99 (idle server)",
    value: `${num(ours.first?.ttfb.p50)} / ${num(ours.first?.ttfb.p99)} ms`,
    ratio: `${ratio(ours.first?.ttfb.p50, raw.first?.ttfb.p50)} / ${ratio(ours.first?.ttfb.p99, raw.first?.ttfb.p99)} raw`,
    target: "within 10% of raw (p50 ≤ 1.10×)",
    verdict: verdict((ours.first?.ttfb.p50 ?? NaN) / (raw.first?.ttfb.p50 ?? NaN), 1.1, { atMost: true }),
  });

  const misses: string[] = [];
  const eventsRatio = ours.burst.eps / raw.burst.eps;
  const cpuRatio = ours.burst.cpu / raw.burst.cpu;
  if (eventsRatio < 0.9 || cpuRatio > 1.1) {
    const inSse = profile?.ourInclusive.find((f) => f.frame.startsWith("formatEvent"))?.share ?? 0;
    misses.push(
      `**2. SSE relay: ${ratio(ours.burst.eps, raw.burst.eps)} the raw writer's events/s and ${ratio(ours.burst.cpu, raw.burst.cpu)} its CPU per event ` +
        `(target within 10%${eventsRatio < 0.9 ? `, missed by ${num(((0.9 - eventsRatio) * 100) / 0.9, 0)}% on throughput` : ""}${cpuRatio > 1.1 ? `, by ${num(((cpuRatio - 1.1) * 100) / 1.1, 0)}% on CPU` : ""}); ` +
        `hono's \`streamSSE\` is at ${ratio(burst("hono").eps, raw.burst.eps)}.** Per event our stream does what the raw writer does ` +
        "(JSON.stringify, one `res.write`) plus the framing checks of `formatEvent` (single-line `id`/`event`, data split on line ends) " +
        `and one awaited promise per \`send\`. The profile of one burst: ${categoryLine(profile)}; \`formatEvent\` ` +
        `${(inSse * 100).toFixed(0)}% (JSON.stringify included), all of our code ${(shareOf(profile, "our code (backend/)") * 100).toFixed(0)}%. ` +
        `Round by round our bursts ran at ${burst("ours").all} events/s and the raw writer's at ${burst("raw").all}: on this machine the ` +
        "figure moves by a third between rounds, so a single run can land either side of the target.",
    );
  }

  const ttfbRatio = (ours.first?.ttfb.p50 ?? NaN) / (raw.first?.ttfb.p50 ?? NaN);
  if (ttfbRatio > 1.1) {
    misses.push(
      `**2. SSE relay, time to first byte p50 ${ratio(ours.first?.ttfb.p50, raw.first?.ttfb.p50)} raw (${num(ours.first?.ttfb.p50)} against ` +
        `${num(raw.first?.ttfb.p50)} ms; target within 10%, missed by ${num(((ttfbRatio - 1.1) / 1.1) * 100, 0)}%).** Before its first byte our ` +
        "server runs the full app (request id, routing, the stream reply and its headers) where the raw writer only writes its head: a few " +
        "microseconds of CPU by section 1's profile, against a gap of a tenth of a millisecond or so. The per-round p50s show how much this " +
        "sub-millisecond figure moves on this machine: " +
        `${perRound(firsts.get("ours"), (r) => r.ttfb.p50)} ms for ours, ${perRound(firsts.get("raw"), (r) => r.ttfb.p50)} ms for raw.`,
    );
  }
  const latencyRatio = (ours.paced?.latency.p99 ?? NaN) / (raw.paced?.latency.p99 ?? NaN);
  if (latencyRatio > 1.1) {
    misses.push(
      `**2. SSE relay, added latency p99 ${ratio(ours.paced?.latency.p99, raw.paced?.latency.p99)} raw (target within 10%, missed by ` +
        `${num(((latencyRatio - 1.1) / 1.1) * 100, 0)}%; p50 ${ratio(ours.paced?.latency.p50, raw.paced?.latency.p50)}).** The p99 is the tail of ` +
        `the ${STREAMS} streams' timers coming due together: their events are produced and written one after another, so the last waits ` +
        `for the others, about ${STREAMS} × the CPU per event (ours ${num(ours.burst.cpu, 2)} µs, raw ${num(raw.burst.cpu, 2)} µs in the burst: ` +
        `${num((STREAMS * ours.burst.cpu) / 1000, 2)} against ${num((STREAMS * raw.burst.cpu) / 1000, 2)} ms), plus the load process's own pauses. ` +
        (cpuRatio > 1.1
          ? "The extra CPU per event is the cost described above. "
          : "Here the CPU per event is within 10% of raw, so the rest is the load process and the machine. ") +
        `Per round: ours ${perRound(paced.get("ours"), (r) => r.latency.p99)} ms, ` +
        `raw ${perRound(paced.get("raw"), (r) => r.latency.p99)} ms, hono ${perRound(paced.get("hono"), (r) => r.latency.p99)} ms.`,
    );
  }

  const body = [
    `Each stream carries ${num(EVENTS)} events (\`id: <i>\` + \`data: {"i":<i>,"t":<producer clock>}\`) produced in the server process; a separate ` +
      "load process (bench/clients/sse-relay.ts: one `http.request` per stream, events split on the blank line) reads them. " +
      `**Burst**: ${STREAMS} concurrent streams, the producer writing as fast as the socket takes it (awaiting backpressure): events/s ` +
      `(first request sent → last event parsed) and the server's CPU time per event; ${ROUNDS} rounds interleaved across the servers, the best ` +
      "round shown (events/s highest, CPU per event lowest: a shared VM only ever takes throughput away), every round in the second table. " +
      `**Paced**: ${STREAMS} concurrent streams, one event per stream every ${PACE_MS} ms (${num((STREAMS * 1000) / PACE_MS)} events/s in all): ` +
      "the added latency per event, producer timestamp → parsed by the client (both clocks are `performance.timeOrigin + performance.now()` on this machine); " +
      `${PACED_ROUNDS} rounds, the one with the lowest p99 shown. ` +
      `**First byte**: in each round, ${SEQUENTIAL} single-event streams opened one after another on the otherwise idle server: request sent → response head (TTFB) and → first event; the round with the lowest p50 shown. ` +
      "Every server had a warm-up burst first (thrown away). Ratios are to the raw writer.",
    "",
    table(
      [
        "server",
        "events/s (burst)",
        "× raw",
        "CPU/event",
        "× raw",
        "latency p50",
        "× raw",
        "latency p99",
        "× raw",
        "TTFB p50 / p99",
        "× raw (p50)",
        "first event p50",
        "× raw",
      ],
      rows,
    ),
    "",
    table(
      [
        "server",
        "burst events/s per round",
        "paced latency p99 per round (ms)",
        "TTFB p50 per round (ms)",
        "events received / sent",
        "errors",
      ],
      detail,
    ),
    "",
    "### Where our stream's time goes (V8 CPU profile of one more burst of ours)",
    "",
    profileMarkdown("ours, one burst", profile, "in the burst's window"),
  ].join("\n");
  return { title: TITLE, body, summary, misses, commands: [...commands] };
}
