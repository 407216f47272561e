/**
 * The sweeper's run, as its Lambda (the schedule) and the local stack's timer both make it:
 * its lines and metrics are the sweeper's, and its metrics are written when the sweep ends.
 */
import { logger, SERVICES, withLogContext } from "../log.ts";
import type { Saga } from "../personas/personas.ts";
import type { SweepReport } from "../personas/sweeper.ts";
import type { Metrics } from "../ports/metrics.ts";

/** @example export const handler = sweepHandler(saga, ports.metrics); */
export function sweepHandler(saga: Pick<Saga, "sweep">, metrics: Metrics, options: { logIdle?: boolean } = {}) {
  const logIdle = options.logIdle ?? true;
  return (): Promise<SweepReport> =>
    withLogContext({ service: SERVICES.sweeper }, async () => {
      try {
        const report = await saga.sweep();
        if (logIdle || report.redriven || report.postponed || report.failed) logger.info("sweep", { ...report });
        return report;
      } finally {
        metrics.flush(SERVICES.sweeper);
      }
    });
}
