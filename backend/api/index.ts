/** Builds the production app from configuration: the one place routes meet their ports. */
import type { Config } from "../config.ts";
import { logger } from "../log.ts";
import { readinessProbe } from "../ports/readiness.ts";
import type { LLM } from "../ai/ports.ts";
import { createProviders } from "../ai/providers.ts";
import { createApp, type AppLogger } from "./app.ts";
import { httpErrorFor } from "./domain-errors.ts";
import type { App } from "./http.ts";
import { routes } from "./routes.ts";

/** `providers` default to what the environment configures (Gemini, or offline without a key). */
export function createApi(config: Config, log: AppLogger = logger, providers: { llm: LLM } = createProviders()): App {
  return createApp({
    routes: routes({ config, readiness: readinessProbe(config), llm: providers.llm }),
    corsOrigins: config.corsOrigins,
    bodyLimitBytes: config.bodyLimitBytes,
    sseHeartbeatMs: config.sseHeartbeatMs,
    sseMaxLifeMs: config.sseMaxLifeMs,
    sseFlushPaddingBytes: config.sseFlushPaddingBytes,
    logger: log,
    mapError: httpErrorFor,
  });
}
