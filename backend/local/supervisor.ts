/**
 * Keeps a local service (DynamoDB Local, fauxqs) running under `./run.sh`: when it exits on
 * its own, the exit is logged and the service is started again on the same port and data,
 * so the API (whose SDK clients keep pointing there) recovers without a restart of its own.
 *
 *   running ──exits──> log ──wait (1 s, doubling to 30 s while it keeps dying)──> start ──> afterRestart ──> running
 *                                  ^                                                 │
 *                                  └────────────── start failed (logged) ────────────┘
 *
 * The wait goes back to 1 s once a service has stayed up for a minute, so a service that
 * keeps crashing at start is not spun on, and one that crashes once a day restarts at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { LocalService } from "./service-process.ts";

export interface SupervisedService {
  /** For log messages, e.g. "dynamodb local" → "dynamodb local restarted". */
  label: string;
  /** Starts the service again, on the same port and data as the first time. */
  start(): Promise<LocalService>;
  /** Runs after each restart (e.g. creating the queues again); failures are logged. */
  afterRestart?(service: LocalService): Promise<void>;
}

export interface SupervisorLog {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface Backoff {
  firstMs: number;
  maxMs: number;
  /** Up this long, the next exit counts as a first one again. */
  stableMs: number;
}

const DEFAULT_BACKOFF: Backoff = { firstMs: 1_000, maxMs: 30_000, stableMs: 60_000 };

/**
 * Watches `service` and its successors until `stopping()` is true; settles then (it never
 * rejects).
 * @example void supervise(dynamodb, { label: "dynamodb local", start: () => startDynamoDbLocal(opts) }, log, () => stopping);
 */
export function supervise(
  service: LocalService,
  spec: SupervisedService,
  log: SupervisorLog,
  stopping: () => boolean,
  backoff: Backoff = DEFAULT_BACKOFF,
): Promise<void> {
  return (async () => {
    let current = service;
    let waitMs = backoff.firstMs;
    for (;;) {
      const upSince = Date.now();
      const exit = await current.exited;
      if (stopping()) return;
      log.error(`${spec.label} exited unexpectedly; restarting it`, { pid: current.pid, ...exit, output: current.outputTail() });
      if (Date.now() - upSince >= backoff.stableMs) waitMs = backoff.firstMs;
      for (;;) {
        await sleep(waitMs);
        waitMs = Math.min(waitMs * 2, backoff.maxMs);
        if (stopping()) return;
        try {
          current = await spec.start();
          break;
        } catch (error) {
          if (stopping()) return;
          log.error(`${spec.label} did not restart; trying again`, { error: (error as Error).message, retry_in_ms: waitMs });
        }
      }
      log.info(`${spec.label} restarted`, { pid: current.pid, endpoint: current.endpoint });
      await spec
        .afterRestart?.(current)
        .catch((error: Error) => log.error(`${spec.label}: setup after the restart failed`, { error: error.message }));
    }
  })();
}
