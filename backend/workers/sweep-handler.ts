/**
 * The sweeper's run, as its Lambda (the schedule) and the local stack's timer both make it:
 * sagas past their deadline, then deletion jobs whose message was lost or whose worker died.
 * Its lines and metrics are the sweeper's, and its metrics are written when the sweep ends.
 */
import type { Lifecycle } from "../lifecycle/lifecycle.ts";
import { logger, SERVICES, withLogContext } from "../log.ts";
import type { Saga } from "../personas/personas.ts";
import type { SweepReport } from "../personas/sweeper.ts";
import type { Metrics } from "../ports/metrics.ts";

export type SweepOutcome = SweepReport & { deletionsResent: number };

/** @example export const handler = sweepHandler(saga, ports.metrics, { lifecycle }); */
export function sweepHandler(
  saga: Pick<Saga, "sweep">,
  metrics: Metrics,
  options: { logIdle?: boolean; lifecycle?: Pick<Lifecycle, "sweep"> } = {},
) {
  const logIdle = options.logIdle ?? true;
  return (): Promise<SweepOutcome> =>
    withLogContext({ service: SERVICES.sweeper }, async () => {
      try {
        const report = await saga.sweep();
        const deletionsResent = (await options.lifecycle?.sweep()) ?? 0;
        if (logIdle || report.redriven || report.postponed || report.failed || deletionsResent)
          logger.info("sweep", { ...report, deletions_resent: deletionsResent });
        return { ...report, deletionsResent };
      } finally {
        metrics.flush(SERVICES.sweeper);
      }
    });
}
