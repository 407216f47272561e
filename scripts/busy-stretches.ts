/**
 * Where a latency tail comes from: the event loop's busy stretches in a V8 `.cpuprofile`.
 * A token that arrives while the loop is busy waits for the whole stretch, so the stretches
 * of at least `minMs` (outside module loading), sorted by the code they involve, are the
 * tail's candidates; a CPU share alone cannot tell a long stretch from many short ones.
 *
 *   RUNS=1 TURNS=3 node --cpu-prof --cpu-prof-interval 100 --cpu-prof-dir .data/latency-profile \
 *     --import tsx scripts/chat-latency.ts
 *   node --import tsx scripts/busy-stretches.ts .data/latency-profile/<file>.cpuprofile [minMs=1.5]
 *
 * The profiler's own overhead (at a 100 µs interval) lengthens every stretch; compare counts,
 * not durations, with another profile taken the same way.
 */
import { readFileSync } from "node:fs";
import type { Profile } from "../bench/lib/cpuprofile.ts";

interface Stretch {
  start: number;
  end: number;
  samples: { id: number; micros: number }[];
}

const TAGS: [string, RegExp][] = [
  ["Gemini SDK", /@google\/genai/],
  ["AWS SDK", /@smithy|@aws-sdk/],
];
const LOADING = /module_job|esm\/loader|cjs\/loader|compileSourceTextModule|source_map/;

const [file, min = "1.5"] = process.argv.slice(2);
if (!file) throw new Error("usage: busy-stretches.ts <file.cpuprofile> [minMs]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
const stack = (id: number) => {
  const frames: string[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { url, functionName } = nodes.get(at)!.callFrame;
    frames.push(`${url} ${functionName}`);
  }
  return frames;
};
const idle = (id: number) => ["(idle)", "(program)"].includes(nodes.get(id)!.callFrame.functionName);

const stretches: Stretch[] = [];
let current: Stretch | undefined;
let at = 0;
for (const [i, id] of profile.samples.entries()) {
  at += profile.timeDeltas[i]!;
  const micros = profile.timeDeltas[i + 1] ?? 0;
  if (idle(id)) {
    if (current) stretches.push(current);
    current = undefined;
    continue;
  }
  current ??= { start: at, end: at, samples: [] };
  current.end = at + micros;
  current.samples.push({ id, micros });
}

const counts = new Map<string, number>();
const self = new Map<string, number>();
let long = 0;
let selfTotal = 0;
for (const stretch of stretches) {
  if (stretch.end - stretch.start < Number(min) * 1000) continue;
  const stacks = stretch.samples.map(({ id }) => stack(id));
  if (stacks.some((frames) => frames.some((f) => LOADING.test(f)))) continue;
  long++;
  const tags = TAGS.filter(([, re]) => stacks.some((frames) => frames.some((f) => re.test(f)))).map(([name]) => name);
  if (stretch.samples.some(({ id }) => nodes.get(id)!.callFrame.functionName === "(garbage collector)")) tags.push("GC");
  const key = tags.join(" + ") || "none of these";
  counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const { id, micros } of stretch.samples) {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    const frame = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber}`;
    self.set(frame, (self.get(frame) ?? 0) + micros);
    selfTotal += micros;
  }
}

console.log(`${stretches.length} busy stretches; ${long} of at least ${min} ms outside module loading, by the code they involve:`);
for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(5)}  ${key}`);
console.log("self time inside those stretches:");
for (const [frame, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20))
  console.log(`  ${((100 * micros) / selfTotal).toFixed(1).padStart(5)}%  ${frame}`);
