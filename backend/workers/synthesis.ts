/** Lambda entry: the persona saga's step 1 (SQS persona-synthesis queue, buffered). */
import { runSynthesis } from "../personas/steps.ts";
import { loadAppSecret } from "../ports/secrets.ts";
import { sagaRuntime } from "./runtime.ts";
import { stepHandler } from "./step-handler.ts";

await loadAppSecret();
const runtime = sagaRuntime();

export const handler = stepHandler("synthesis", runSynthesis, () => runtime.steps, () => runtime.config.maxReceiveCount);
