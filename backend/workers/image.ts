/** Lambda entry: the persona saga's step 2 (SQS image-generation queue, buffered). */
import { runIllustration } from "../personas/steps.ts";
import { loadAppSecret } from "../ports/secrets.ts";
import { sagaRuntime } from "./runtime.ts";
import { stepHandler } from "./step-handler.ts";

await loadAppSecret();
const runtime = sagaRuntime();

export const handler = stepHandler("image", runIllustration, () => runtime.steps, () => runtime.config.maxReceiveCount);
