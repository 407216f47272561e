/** Lambda entry: the scheduled sweeper that re-drives or fails sagas past their deadline. */
import { logger } from "../log.ts";
import { sweep, type SweepReport } from "../personas/sweeper.ts";
import { loadAppSecret } from "../ports/secrets.ts";
import { sagaRuntime } from "./runtime.ts";

await loadAppSecret();
const runtime = sagaRuntime();

export async function handler(): Promise<SweepReport> {
  const report = await sweep(runtime.sweep);
  logger.info("sweep", { ...report });
  return report;
}
