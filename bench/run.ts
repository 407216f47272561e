/**
 * `npm run bench`: the eight benchmarks of docs/benchmarks.md, one after the other, each
 * server and load generator in a process of its own, all on 127.0.0.1. Prints a summary
 * table and rewrites docs/benchmarks.md with every number, the machine and the commands.
 *
 *   npm run bench                 all sections (about 13 minutes on 2 cores)
 *   npm run bench -- 1 3          only sections 1 and 3 (docs/benchmarks.md then holds only those)
 *
 * Knobs, for trying things out (defaults in brackets): BENCH_WARMUP_SECONDS [1] and
 * BENCH_MEASURE_SECONDS [2] (autocannon rounds), BENCH_ROUNDS [4 in section 1, 3 in 2],
 * BENCH_USERS [500] and BENCH_DRAIN_DEADLINE_SECONDS [420] (section 4), BENCH_IDLE_STREAMS [10000].
 */
import { writeFile } from "node:fs/promises";
import { stopLocalServices } from "../backend/local/services.ts";
import { machine } from "./lib/machine.ts";
import { killAll } from "./lib/processes.ts";
import { failedSection, type SectionResult } from "./lib/report.ts";
import { table } from "./lib/stats.ts";
import { jsonSection } from "./sections/json.ts";
import { sseRelaySection } from "./sections/sse-relay.ts";
import { idleStreamsSection } from "./sections/idle-streams.ts";
import { costSection } from "./sections/cost.ts";
import { loadLevellingSection } from "./sections/load-levelling.ts";
import { coldStartSection } from "./sections/cold-start.ts";
import { idleFeedsSection } from "./sections/idle-feeds.ts";
import { chatLatencySection } from "./sections/chat-latency.ts";

const SECTIONS: { id: number; title: string; run: () => Promise<SectionResult> }[] = [
  { id: 1, title: "1. JSON requests", run: jsonSection },
  { id: 2, title: "2. SSE relay", run: sseRelaySection },
  { id: 3, title: "3. Concurrent idle streams", run: idleStreamsSection },
  { id: 4, title: "4. Load levelling", run: loadLevellingSection },
  { id: 5, title: "5. Cold start", run: coldStartSection },
  { id: 6, title: "6. Cost per flow", run: costSection },
  { id: 7, title: "7. Idle status feeds", run: idleFeedsSection },
  { id: 8, title: "8. Chat token latency", run: chatLatencySection },
];

/**
 * Past this the benchmark gives up on what is left, cleans up and still writes its report: a
 * guard against a section that hangs, well above a full run (about 13 minutes, section 4's
 * drain alone over 4 of them), so a slow round on a shared machine does not cut off section 7.
 */
const HARD_LIMIT_MS = 20 * 60_000;

if (Number(process.versions.node.split(".")[0]) < 24) {
  console.error(`npm run bench needs the project's Node 24 (node_modules/.bin/node); this is ${process.version}`);
  process.exit(1);
}
const wanted = process.argv.slice(2).map(Number).filter(Boolean);
const startedAt = new Date();
const t0 = performance.now();
const results: SectionResult[] = [];

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every child process`);
    killAll();
    void stopLocalServices().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  console.error("benchmark ran past its hard limit: stopping, and reporting what finished");
  killAll();
  void stopLocalServices()
    .then(() => report(true))
    .finally(() => process.exit(1));
}, HARD_LIMIT_MS);
watchdog.unref();

try {
  for (const section of SECTIONS) {
    if (wanted.length && !wanted.includes(section.id)) continue;
    console.log(`\n== ${section.title}`);
    const s0 = performance.now();
    let result: SectionResult;
    try {
      result = await section.run();
    } catch (error) {
      console.error(error);
      result = failedSection(section.title, error);
    }
    result.seconds = (performance.now() - s0) / 1000;
    results.push(result);
    console.log(`   (${result.seconds.toFixed(0)} s)`);
  }
} finally {
  killAll();
  await stopLocalServices();
}
clearTimeout(watchdog);
await report(false);
process.exit(0);

/** Prints the summary and writes docs/benchmarks.md from the sections that finished. */
async function report(cutShort: boolean): Promise<void> {
  const totalSeconds = (performance.now() - t0) / 1000;
  const m = machine();
  const summaryTable = table(
    ["section", "metric", "value", "ratio", "target", "verdict"],
    results.flatMap((r) => r.summary.map((s) => [s.section, s.metric, s.value, s.ratio, s.target, s.verdict])),
    ["l", "l", "r", "r", "l", "l"],
  );
  console.log(`\n${summaryTable}\n`);
  for (const miss of results.flatMap((r) => r.misses ?? [])) console.log(`- ${miss.replace(/\*\*/g, "")}\n`);
  console.log(`total ${totalSeconds.toFixed(0)} s`);

  const doc = [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (bench/run.ts); do not edit by hand. Absolute numbers on a shared 2-core machine are noise;",
    "the ratios, measured side by side in the same run, are the point.",
    "",
    `- Date: ${startedAt.toISOString()}`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memory} memory, ${m.os}`,
    `- Node.js ${m.node}; everything on 127.0.0.1`,
    `- Sections run: ${results.map((r) => r.title.split(".")[0]).join(", ")}; total wall time ${totalSeconds.toFixed(0)} s` +
      (cutShort ? " (**cut short** at the hard time limit: later sections are missing)" : ""),
    "",
    "## Summary",
    "",
    summaryTable,
    "",
    ...(results.some((r) => r.misses?.length)
      ? ["## Targets missed, and why", "", ...results.flatMap((r) => (r.misses ?? []).map((miss) => `- ${miss}`)), ""]
      : []),
    ...results.flatMap((r) => [`## ${r.title}`, "", r.body, "", `_Section wall time: ${r.seconds?.toFixed(0) ?? "?"} s._`, ""]),
    "## Commands",
    "",
    "Everything above was started by `npm run bench` (= `node --import tsx bench/run.ts`). Under it, these command lines ran",
    "(ports are free loopback ports picked at run time):",
    "",
    "```sh",
    ...results.flatMap((r) => [`# ${r.title}`, ...r.commands]),
    "```",
    "",
  ].join("\n");
  await writeFile("docs/benchmarks.md", doc);
  console.log("wrote docs/benchmarks.md");
}
