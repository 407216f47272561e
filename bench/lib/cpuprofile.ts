/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`): where the busy time went by
 * kind of code (ours, the logger, node's HTTP internals, GC, …), the hottest functions by
 * self time, and the inclusive time of our own functions. Percentages are of busy time
 * (everything but `(idle)`).
 */
import { readFile } from "node:fs/promises";

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  busyMs: number;
  /** Share of busy time with a Powertools or backend/log.ts frame on the stack (not the log context's): logging, its stdout write included. */
  loggingInclusive: number;
  categories: { category: string; share: number }[];
  topSelf: { frame: string; share: number }[];
  ourInclusive: { frame: string; share: number }[];
}

/** backend/log.ts functions that run a request's work inside its log context: the work is not logging. */
const LOG_CONTEXT_FRAMES = new Set(["withLogContext", "logContextRunner", "logContext", ""]);

const WRITES = new Set(["writeUtf8String", "writeLatin1String", "writeAsciiString", "writeBuffer", "writev"]);

export function categoryOf(url: string, functionName: string): string {
  if (functionName === "(garbage collector)") return "GC";
  if (WRITES.has(functionName) && url === "") return "write syscalls (sockets, stdout)";
  if (functionName === "(program)") return "V8/native (program)";
  if (url.includes("@aws-lambda-powertools")) return "Powertools logger";
  if (url.includes("/node_modules/")) return "other dependencies";
  if (url.includes("/backend/")) return "our code (backend/)";
  if (url.includes("/bench/")) return "bench server/routes";
  if (url.startsWith("node:")) return "node internals (node:*)";
  return "V8 builtins / native";
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\/.*?\/(backend|bench|node_modules)\//, "$1/").replace(/^.*\/node_modules\//, "");
  return `${functionName || "(anonymous)"}${url ? ` ${file}:${lineNumber + 1}` : ""}`;
}

export async function summariseProfile(file: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").reduce((t, n) => t + (self.get(n.id) ?? 0), 0);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const busy = total - idle || 1;

  const categories = new Map<string, number>();
  const frames = new Map<string, number>();
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") continue;
    const category = categoryOf(node.callFrame.url, node.callFrame.functionName);
    categories.set(category, (categories.get(category) ?? 0) + ms);
    const name = frameName(node);
    frames.set(name, (frames.get(name) ?? 0) + ms);
  }

  // Inclusive time of our functions: each sample counted once per distinct frame on its stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  let logging = 0;
  for (const [id, ms] of self) {
    const seen = new Set<string>();
    let logged = false;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)!;
      // Our request-line formatter and its batched write are logging too (backend/log.ts); not the
      // log context's frames, which every request runs inside (withLogContext, a runner's closure).
      logged ||=
        node.callFrame.url.includes("@aws-lambda-powertools") ||
        (node.callFrame.url.endsWith("/backend/log.ts") && !LOG_CONTEXT_FRAMES.has(node.callFrame.functionName));
      if (!node.callFrame.url.includes("/backend/")) continue;
      const name = frameName(node);
      if (!seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
      }
    }
    if (logged) logging += ms;
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    busyMs: busy,
    loggingInclusive: logging / busy,
    categories: sorted(categories).map(([category, ms]) => ({ category, share: ms / busy })),
    topSelf: sorted(frames)
      .slice(0, top)
      .map(([frame, ms]) => ({ frame, share: ms / busy })),
    ourInclusive: sorted(inclusive)
      .slice(0, 10)
      .map(([frame, ms]) => ({ frame, share: ms / busy })),
  };
}

export interface BusyStretches {
  /** Busy stretches of the event loop (consecutive samples that are not idle) in the whole profile. */
  stretches: number;
  /** Those of at least `minMs`, outside start-up (module loading, spawning, provisioning). */
  long: number;
  /** The long ones by the code they involve ("Gemini SDK + AWS SDK", "GC", "none of these"), most first. */
  byCode: { code: string; count: number }[];
  /** Self time inside the long ones, by frame. */
  topSelf: { frame: string; share: number }[];
}

const STRETCH_CODE: [string, RegExp][] = [
  ["Gemini SDK", /@google\/genai/],
  ["AWS SDK", /@smithy|@aws-sdk/],
];
/** Frames of start-up work, not of the steady state measured: module loading, child processes spawned, tables provisioned. */
const START_UP = /module_job|esm\/loader|cjs\/loader|compileSourceTextModule|source_map|child_process|service-process|provision/;

/**
 * Where a latency tail comes from: a token (or any event) that arrives while the event loop
 * is busy waits for the whole busy stretch, so the stretches of at least `minMs` are the
 * tail's candidates, sorted here by the code they ran. A CPU share cannot tell one long
 * stretch from many short ones. The profiler's own work lengthens every stretch: compare
 * counts between profiles taken the same way (same `--cpu-prof-interval`), not durations.
 */
export async function busyStretches(file: string, minMs = 1.5, top = 12): Promise<BusyStretches> {
  const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number) => {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame;
      frames.push(`${url} ${functionName}`);
    }
    return frames;
  };
  const idle = (id: number) => ["(idle)", "(program)"].includes(byId.get(id)!.callFrame.functionName);

  type Stretch = { start: number; end: number; samples: { id: number; micros: number }[] };
  const stretches: Stretch[] = [];
  let current: Stretch | undefined;
  let at = 0;
  for (const [i, id] of profile.samples.entries()) {
    at += profile.timeDeltas[i] ?? 0;
    if (idle(id)) {
      if (current) stretches.push(current);
      current = undefined;
      continue;
    }
    const micros = profile.timeDeltas[i + 1] ?? 0;
    current ??= { start: at, end: at, samples: [] };
    current.end = at + micros;
    current.samples.push({ id, micros });
  }
  if (current) stretches.push(current);

  const byCode = new Map<string, number>();
  const self = new Map<string, number>();
  let long = 0;
  let selfTotal = 0;
  for (const stretch of stretches) {
    if (stretch.end - stretch.start < minMs * 1000) continue;
    const stacks = stretch.samples.map(({ id }) => stackOf(id));
    if (stacks.some((frames) => frames.some((f) => START_UP.test(f)))) continue;
    long++;
    const codes = STRETCH_CODE.filter(([, re]) => stacks.some((frames) => frames.some((f) => re.test(f)))).map(([name]) => name);
    if (stretch.samples.some(({ id }) => byId.get(id)!.callFrame.functionName === "(garbage collector)")) codes.push("GC");
    const code = codes.join(" + ") || "none of these";
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    for (const { id, micros } of stretch.samples) {
      const name = frameName(byId.get(id)!);
      self.set(name, (self.get(name) ?? 0) + micros);
      selfTotal += micros;
    }
  }
  return {
    stretches: stretches.length,
    long,
    byCode: [...byCode].sort((a, b) => b[1] - a[1]).map(([code, count]) => ({ code, count })),
    topSelf: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, micros]) => ({ frame, share: micros / (selfTotal || 1) })),
  };
}

/** `node --import tsx bench/lib/cpuprofile.ts <file.cpuprofile>` prints the summary. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const summary = await summariseProfile(process.argv[2]!, 25);
  const pct = (s: number) => `${(s * 100).toFixed(1)}%`.padStart(6);
  console.log(`busy ${summary.busyMs.toFixed(0)} ms; logging inclusive ${pct(summary.loggingInclusive)}`);
  for (const c of summary.categories) console.log(`${pct(c.share)}  ${c.category}`);
  console.log("\ntop self:");
  for (const f of summary.topSelf) console.log(`${pct(f.share)}  ${f.frame}`);
  console.log("\nours, inclusive:");
  for (const f of summary.ourInclusive) console.log(`${pct(f.share)}  ${f.frame}`);
}
