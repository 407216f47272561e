/**
 * What every server under test shares with the benchmark: it listens on a free loopback
 * port and says which over IPC, answers memory questions (after a GC when `--expose-gc`
 * is on), and exits cleanly on SIGTERM so `--cpu-prof` can write its profile. On request it
 * also records a CPU profile of a window of its life (the same V8 profiler `--cpu-prof`
 * uses, through `node:inspector`), for load that is only part of a long run.
 *
 * The SSE endpoints of every server take the same query: `events` (how many, default 1000)
 * and `interval` (ms between events; 0 = as fast as the socket takes them). Each event is
 * `id: <i>` + `data: {"i":<i>,"t":<producer clock, ms>}`.
 */
import { writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { Session } from "node:inspector/promises";
import type { AddressInfo } from "node:net";

export const HOST = "127.0.0.1";

/** Same clock as bench/lib/stats.ts `clock()`: comparable across processes. */
export const clock = () => performance.timeOrigin + performance.now();

export function sseParams(rawQuery: string): { events: number; interval: number } {
  const query = new URLSearchParams(rawQuery);
  return { events: Number(query.get("events") ?? 1000), interval: Number(query.get("interval") ?? 0) };
}

/** Announces the port and wires SIGTERM and memory questions. */
export function announce(
  server: Server,
  close: () => Promise<void> | void = () => new Promise<void>((r) => server.close(() => r())),
): void {
  const { port } = server.address() as AddressInfo;
  let profiler: Session | undefined;
  process.on("message", async (message: { type?: string; file?: string }) => {
    if (message?.type === "memory") {
      (globalThis as { gc?: () => void }).gc?.();
      const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
      process.send?.({ type: "memory", rss, heapUsed, external, arrayBuffers });
    } else if (message?.type === "profile-start") {
      profiler = new Session();
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.start");
      process.send?.({ type: "profiling" });
    } else if (message?.type === "profile-stop" && profiler && message.file) {
      const { profile } = await profiler.post("Profiler.stop");
      writeFileSync(message.file, JSON.stringify(profile));
      profiler.disconnect();
      profiler = undefined;
      process.send?.({ type: "profiled" });
    }
  });
  process.once("SIGTERM", () => {
    server.closeAllConnections();
    void Promise.resolve(close()).finally(() => process.exit(0));
  });
  process.send?.({ type: "listening", port });
}
