/**
 * Lambda entry points onto the same app:
 * - `streamingHandler`: Function URL with `InvokeMode: RESPONSE_STREAM`, without the Lambda
 *   Web Adapter (exists only where the runtime provides the `awslambda` global);
 * - `apiGatewayHandler`: buffered REST API (1.0) and HTTP API (2.0) events.
 */
import { apiGatewayHandler as buffered } from "./api/adapters/api-gateway.ts";
import { functionUrlHandler, type StreamingRuntime } from "./api/adapters/function-url.ts";
import { createApi } from "./api/index.ts";
import type { App } from "./api/http.ts";
import { loadConfig } from "./config.ts";
import { flushRequestLines } from "./log.ts";
import { loadAppSecret } from "./ports/secrets.ts";

// Before the app is built (its providers and keys come from the secret); a failure throws
// here, which Lambda reports as an init error.
await loadAppSecret();
const api = createApi(loadConfig());
// Without the Web Adapter the invocation ends when the handler resolves: the request's line
// is written before that, not at the end of the event-loop turn (log.ts batches it).
const app: App = (req, writer) => api(req, writer).finally(flushRequestLines);
// Only the Lambda runtime's `awslambda` can stream: Powertools' invoke store defines an empty
// one in any process, so its presence alone proves nothing.
const runtime = (globalThis as { awslambda?: Partial<StreamingRuntime> }).awslambda;
const canStream = (r: Partial<StreamingRuntime> | undefined): r is StreamingRuntime => typeof r?.streamifyResponse === "function";

export const apiGatewayHandler = buffered(app);
export const streamingHandler = canStream(runtime) ? functionUrlHandler(app, runtime) : undefined;
