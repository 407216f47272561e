/** The production app: the domains (from the composition root) behind every route. */
import { compose, type Domains, type Ports } from "../compose.ts";
import type { Config } from "../config.ts";
import { logger } from "../log.ts";
import { createApp, type AppLogger } from "./app.ts";
import { httpErrorFor } from "./domain-errors.ts";
import type { Route } from "./framework.ts";
import { handlersFor } from "./handlers/index.ts";
import type { App } from "./http.ts";
import { routes } from "./routes.ts";

export interface ApiOptions {
  logger?: AppLogger;
  /** Ports to use instead of the configured ones (a test's model, say). */
  ports?: Partial<Ports>;
  /** Domains already composed (they win over `ports`). */
  domains?: Domains;
  /** Routes beyond the API's own (the benchmark's). */
  extraRoutes?: Route[];
}

/** @example const app = createApi(loadConfig(), { logger: quiet }); */
export function createApi(config: Config, options: ApiOptions = {}): App {
  const domains = options.domains ?? compose(config, options.ports);
  return createApp({
    routes: [...routes(handlersFor(domains)), ...(options.extraRoutes ?? [])],
    corsOrigins: config.corsOrigins,
    bodyLimitBytes: config.bodyLimitBytes,
    sseHeartbeatMs: config.sseHeartbeatMs,
    sseMaxLifeMs: config.sseMaxLifeMs,
    sseFlushPaddingBytes: config.sseFlushPaddingBytes,
    logger: options.logger ?? logger,
    mapError: httpErrorFor,
  });
}
