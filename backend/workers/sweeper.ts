/** Lambda entry: the scheduled sweeper that re-drives or fails sagas past their deadline. */
import { compose } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { loadAppSecret } from "../ports/secrets.ts";
import { sweepHandler } from "./sweep-handler.ts";

await loadAppSecret();
const { saga, ports } = compose(loadConfig());

export const handler = sweepHandler(saga, ports.metrics);
