/** Lambda entry: the scheduled sweeper that re-drives or fails sagas past their deadline, and re-sends lost deletion jobs. */
import { compose } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { logger } from "../log.ts";
import type { SweepReport } from "../personas/sweeper.ts";
import { loadAppSecret } from "../ports/secrets.ts";

await loadAppSecret();
const { saga, lifecycle } = compose(loadConfig());

/** Sagas past their deadline, then deletion jobs whose message was lost or whose worker died. */
export async function handler(): Promise<SweepReport & { deletionsResent: number }> {
  const report = await saga.sweep();
  const deletionsResent = await lifecycle.sweep();
  logger.info("sweep", { ...report, deletions_resent: deletionsResent });
  return { ...report, deletionsResent };
}
