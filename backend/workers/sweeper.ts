/** Lambda entry: the scheduled sweeper that re-drives or fails sagas past their deadline. */
import { compose } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { logger } from "../log.ts";
import type { SweepReport } from "../personas/sweeper.ts";
import { loadAppSecret } from "../ports/secrets.ts";

await loadAppSecret();
const { saga } = compose(loadConfig());

export async function handler(): Promise<SweepReport> {
  const report = await saga.sweep();
  logger.info("sweep", { ...report });
  return report;
}
