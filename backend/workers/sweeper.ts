/** Lambda entry: the scheduled sweeper that re-drives or fails sagas past their deadline, and re-sends lost deletion jobs. */
import { compose } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { loadAppSecret } from "../ports/secrets.ts";
import { sweepHandler } from "./sweep-handler.ts";

await loadAppSecret();
const { saga, lifecycle, ports } = compose(loadConfig());

/** Sagas past their deadline, then deletion jobs whose message was lost or whose worker died. */
export const handler = sweepHandler(saga, ports.metrics, { lifecycle });
