/**
 * Lambda entry points onto the same app:
 * - `streamingHandler`: Function URL with `InvokeMode: RESPONSE_STREAM`, without the Lambda
 *   Web Adapter (exists only where the runtime provides the `awslambda` global);
 * - `apiGatewayHandler`: buffered REST API (1.0) and HTTP API (2.0) events.
 */
import { apiGatewayHandler as buffered } from "./api/adapters/api-gateway.ts";
import { functionUrlHandler, type StreamingRuntime } from "./api/adapters/function-url.ts";
import { createApi } from "./api/index.ts";
import { loadConfig } from "./config.ts";

const app = createApi(loadConfig());
const runtime = (globalThis as { awslambda?: StreamingRuntime }).awslambda;

export const apiGatewayHandler = buffered(app);
export const streamingHandler = runtime ? functionUrlHandler(app, runtime) : undefined;
