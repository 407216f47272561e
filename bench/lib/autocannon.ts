/**
 * Drives a server with the autocannon CLI in a process of its own, as fastify/benchmarks
 * does: `-c 100 -p 10`, a warm-up round whose numbers are thrown away, then a measured round.
 */
import { createRequire } from "node:module";
import { cpuMsOf, startNode } from "./processes.ts";

export interface LoadResult {
  /** Mean requests per second over the measured round (autocannon's `requests.average`). */
  rps: number;
  p50: number;
  p99: number;
  /** Everything that was not a 2xx, plus errors and timeouts: should be 0. */
  failures: number;
  /** Server CPU time (user + system) per response, in microseconds, when the server's pid is known. */
  cpuUsPerRequest?: number;
  command: string;
}

const CLI = createRequire(import.meta.url).resolve("autocannon/autocannon.js");

export const durations = {
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 1),
  measureSeconds: Number(process.env.BENCH_MEASURE_SECONDS ?? 2),
};

async function round(url: string, seconds: number, serverPid?: number): Promise<LoadResult> {
  const cpuBefore = serverPid === undefined ? undefined : await cpuMsOf(serverPid);
  const args = ["-c", "100", "-p", "10", "-d", String(seconds), "-j", url];
  const child = startNode("autocannon", CLI, args, { stdout: "pipe", tsx: false });
  const exit = await Promise.race([child.exited, new Promise<null>((r) => setTimeout(r, (seconds + 30) * 1000, null))]);
  if (exit === null) await child.stop("SIGKILL");
  const cpuAfter = serverPid === undefined ? undefined : await cpuMsOf(serverPid);
  const result = JSON.parse(child.stdout()) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
    non2xx: number;
  };
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
    cpuUsPerRequest:
      cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1000) / result.requests.total,
    command: `autocannon -c 100 -p 10 -d ${seconds} ${url.replace(/:\d+\//, ":<port>/")}`,
  };
}

/** A warm-up round, then the measured one (whose result is returned). */
export async function load(url: string, opts: { serverPid?: number; warmup?: boolean; seconds?: number } = {}): Promise<LoadResult> {
  if (opts.warmup !== false) await round(url, durations.warmupSeconds);
  return round(url, opts.seconds ?? durations.measureSeconds, opts.serverPid);
}
