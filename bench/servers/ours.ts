/**
 * Our server under test: the production app (every route of backend/api/routes.ts, the
 * Powertools request log carrying the request's EMF metrics, error mapping), built by
 * `createApi` as `backend/main.ts` builds it, plus the bench-only routes, on the node:http
 * adapter. `BENCH_LOGGER=noop` swaps the request log for a no-op (to show what logging
 * costs); `POWERTOOLS_METRICS_DISABLED=true` leaves the metrics out (to show what they cost).
 */
import { serve } from "../../backend/api/adapters/node.ts";
import type { AppLogger } from "../../backend/api/app.ts";
import { createApi } from "../../backend/api/index.ts";
import { loadConfig } from "../../backend/config.ts";
import { benchRoutes } from "./bench-routes.ts";
import { announce, HOST } from "./common.ts";

const noop: AppLogger = { info() {}, error() {} };
const app = createApi(loadConfig(), { logger: process.env.BENCH_LOGGER === "noop" ? noop : undefined, extraRoutes: benchRoutes() });
const running = await serve(app, { port: 0, host: HOST });
announce(running.server, () => running.close(0));

// Section 7 asks how many DynamoDB requests the server has sent (BENCH_COUNT_DYNAMODB=1): a
// counting middleware on the process's one DynamoDB client, answered over IPC; those sent for
// requests whose id (`x-request-id`, the log context's correlation id) starts with
// `bench-feed-` are counted apart, so the idle feeds' share is not a difference of two runs;
// failed requests are counted by command and error.
if (process.env.BENCH_COUNT_DYNAMODB === "1") {
  const { dynamoClient } = await import("../../backend/ports/aws.ts");
  const { logContext } = await import("../../backend/log.ts");
  let requests = 0;
  let feedRequests = 0;
  /** Failed requests by command and error ("TransactWriteItems TimeoutError"): what a 503 gave up on. */
  const failures: Record<string, number> = {};
  dynamoClient().middlewareStack.add(
    (next, context) => async (args) => {
      requests += 1;
      if (logContext()?.correlation_id?.startsWith("bench-feed-")) feedRequests += 1;
      try {
        return await next(args);
      } catch (error) {
        const key = `${String(context.commandName).replace(/Command$/, "")} ${(error as Error).name}`;
        failures[key] = (failures[key] ?? 0) + 1;
        throw error;
      }
    },
    { step: "initialize", name: "benchRequestCount" },
  );
  process.on("message", (message: { type?: string }) => {
    if (message?.type === "dynamodb") process.send?.({ type: "dynamodb", requests, feedRequests, failures });
  });
}
