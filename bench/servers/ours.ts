/**
 * Our server under test: the production app (every route of backend/api/routes.ts, the
 * Powertools request log, error mapping) plus the bench-only routes, on the node:http
 * adapter, as backend/api/index.ts's `createApi` builds it. `BENCH_LOGGER=noop` swaps the
 * request log for a no-op (to show what logging costs); everything else reads the
 * environment as `backend/main.ts` does.
 */
import { createProviders } from "../../backend/ai/providers.ts";
import { serve } from "../../backend/api/adapters/node.ts";
import { createApp, type AppLogger } from "../../backend/api/app.ts";
import { httpErrorFor } from "../../backend/api/domain-errors.ts";
import { routes } from "../../backend/api/routes.ts";
import { loadConfig } from "../../backend/config.ts";
import { logger } from "../../backend/log.ts";
import { readinessProbe } from "../../backend/ports/readiness.ts";
import { benchRoutes } from "./bench-routes.ts";
import { announce, HOST } from "./common.ts";

const noop: AppLogger = { info() {}, error() {} };
const config = loadConfig();
const app = createApp({
  routes: [...routes({ config, readiness: readinessProbe(config), llm: createProviders().llm }), ...benchRoutes()],
  corsOrigins: config.corsOrigins,
  bodyLimitBytes: config.bodyLimitBytes,
  sseHeartbeatMs: config.sseHeartbeatMs,
  sseMaxLifeMs: config.sseMaxLifeMs,
  logger: process.env.BENCH_LOGGER === "noop" ? noop : logger,
  mapError: httpErrorFor,
});
const running = await serve(app, { port: 0, host: HOST });
announce(running.server, () => running.close(0));
