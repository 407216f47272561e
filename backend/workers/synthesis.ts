/** Lambda entry: the persona saga's step 1 (SQS persona-synthesis queue, buffered). */
import { compose } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { loadAppSecret } from "../ports/secrets.ts";
import { stepHandler } from "./step-handler.ts";

// Before anything is built: the model's key comes from the secret.
await loadAppSecret();
const { saga, config, ports } = compose(loadConfig());

export const handler = stepHandler("synthesis", saga.synthesis, config.maxReceiveCount, ports.metrics);
