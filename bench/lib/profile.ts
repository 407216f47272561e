/**
 * Runs a server under `node --cpu-prof` while `work` loads it, then summarises the profile
 * (bench/lib/cpuprofile.ts) as markdown. Profiles land in .data/bench/profiles/ (gitignored).
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { summariseProfile, type ProfileSummary } from "./cpuprofile.ts";
import { ofType, startNode, type Child } from "./processes.ts";
import { num, table } from "./stats.ts";

export const PROFILE_DIR = ".data/bench/profiles";

export async function profileServer(
  name: string,
  script: string,
  env: Record<string, string>,
  work: (base: string, child: Child) => Promise<void>,
): Promise<{ summary: ProfileSummary | undefined; command: string }> {
  const dir = join(PROFILE_DIR, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const child = startNode(name, script, [], { stdout: "null", env, nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
  try {
    const { port } = await child.message(ofType<{ port: number }>("listening"));
    await work(`http://127.0.0.1:${port}`, child);
  } finally {
    await child.stop("SIGTERM", 15_000);
  }
  const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
  return { summary: file ? await summariseProfile(join(dir, file), 12) : undefined, command: child.command };
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

export function profileMarkdown(
  label: string,
  summary: ProfileSummary | undefined,
  scope = "over the process's life (start-up included)",
): string {
  if (!summary) return `_${label}: no profile was written._`;
  return [
    `**${label}**: ${num(summary.busyMs / 1000, 1)} s of busy CPU ${scope}; ` +
      `logging (backend/log.ts, Powertools, their stdout write) ${pct(summary.loggingInclusive)} of it.`,
    "",
    table(
      ["where the busy time went (self time)", "share"],
      summary.categories.filter((c) => c.share >= 0.005).map((c) => [c.category, pct(c.share)]),
    ),
    "",
    table(
      ["hottest functions (self time)", "share"],
      summary.topSelf.map((f) => [`\`${f.frame}\``, pct(f.share)]),
    ),
    "",
    table(
      ["our functions (inclusive)", "share"],
      summary.ourInclusive.slice(0, 6).map((f) => [`\`${f.frame}\``, pct(f.share)]),
    ),
  ].join("\n");
}

/** One line: the categories of a profile by share, e.g. "write syscalls 55%, node internals 17%, …". */
export function categoryLine(summary: ProfileSummary | undefined, min = 0.02): string {
  if (!summary) return "no profile";
  return summary.categories
    .filter((c) => c.share >= min)
    .map((c) => `${c.category} ${pct(c.share)}`)
    .join(", ");
}

/** The share of busy time in one category (0 when absent). */
export function shareOf(summary: ProfileSummary | undefined, category: string): number {
  return summary?.categories.find((c) => c.category === category)?.share ?? 0;
}

/** Tells a server started by `startNode` to profile until `stop()`; writes the profile to `file`. */
export async function profileWindow(child: Child, file: string): Promise<{ stop(): Promise<ProfileSummary> }> {
  await mkdir(PROFILE_DIR, { recursive: true });
  child.send({ type: "profile-start" });
  await child.message(ofType("profiling"));
  return {
    async stop() {
      child.send({ type: "profile-stop", file });
      await child.message(ofType("profiled"));
      return summariseProfile(file, 12);
    },
  };
}
