/** Lambda entry: the persona saga's step 2 (SQS image-generation queue, buffered). */
import { compose } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { loadAppSecret } from "../ports/secrets.ts";
import { stepHandler } from "./step-handler.ts";

// Before anything is built: the model's key comes from the secret.
await loadAppSecret();
const { saga, config, ports } = compose(loadConfig());

export const handler = stepHandler("image", saga.illustration, config.maxReceiveCount, ports.metrics);
