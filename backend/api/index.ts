/**
 * The production app: the domains (from the composition root) behind every route. Only the
 * HTTP core, the route table, the metrics port and the AI providers (not their SDK) are
 * built at start-up; the domains are composed by the first request that needs them
 * (handlers/index.ts).
 */
import { createProviders } from "../ai/providers.ts";
import type { Domains, Ports } from "../compose.ts";
import type { Config } from "../config.ts";
import { logger, requestLogger, withLogContext } from "../log.ts";
import { DependencyUnavailableError } from "../ports/dependency.ts";
import { metricsFor, type Metrics } from "../ports/metrics.ts";
import { createApp, type AppLogger, type RequestLine } from "./app.ts";
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

/**
 * The request line, made an EMF document carrying the request's metrics when it is printed
 * (no second write per request); when it is not (a quieter log level, a test's logger), the
 * metrics wait for the next flush.
 */
function requestLog(log: AppLogger, metrics: Metrics): (line: RequestLine) => void {
  if (log !== logger) {
    if (!metrics.enabled) return (line) => log.info("request", line);
    return (line) => {
      metrics.request(line.status);
      log.info("request", line);
    };
  }
  // The process's own log: request lines are written once per event-loop turn (log.ts says why that loses none).
  if (!metrics.enabled) return (line) => requestLogger.request(line);
  return (line) => {
    if (requestLogger.printsInfo()) requestLogger.request(metrics.requestLine(line.status, line));
    else metrics.request(line.status);
  };
}

/** @example const app = createApi(loadConfig(), { logger: quiet }); */
export function createApi(config: Config, options: ApiOptions = {}): App {
  const given = options.domains;
  // At start-up: every request line carries the request's metrics, /healthz's included.
  const metrics = given?.ports.metrics ?? options.ports?.metrics ?? metricsFor(config);
  // Also at start-up, as when the domains were: the providers' choice is logged, and a bad GEMINI_* setting fails the start.
  const providers = given || (options.ports?.llm && options.ports.images) ? {} : createProviders(process.env, logger, metrics);
  const ports = { ...providers, ...options.ports, metrics };
  const domains = given ? () => Promise.resolve(given) : () => import("../compose.ts").then(({ compose }) => compose(config, ports));
  const log = options.logger ?? logger;
  return createApp({
    routes: [...routes(handlersFor(given?.config ?? config, domains)), ...(options.extraRoutes ?? [])],
    corsOrigins: config.corsOrigins,
    bodyLimitBytes: config.bodyLimitBytes,
    sseHeartbeatMs: config.sseHeartbeatMs,
    sseMaxLifeMs: config.sseMaxLifeMs,
    sseFlushPaddingBytes: config.sseFlushPaddingBytes,
    logger: log,
    requestLog: requestLog(log, metrics),
    // Every line a request causes carries its id, and a saga it starts keeps it (correlation_id).
    requestScope: (requestId, handle) => withLogContext({ correlation_id: requestId }, handle),
    mapError: (error) => {
      // An AWS call that failed after the SDK's retries is answered 503: counted by service.
      if (error instanceof DependencyUnavailableError) metrics.record("DependencyFailures", 1, { dependency: error.dependency });
      return httpErrorFor(error);
    },
  });
}
