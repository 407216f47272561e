/**
 * Process entry of the API server: what the Lambda Web Adapter starts (bundled), and what
 * `node backend/main.ts` runs against already-running dependencies. SIGTERM (sent by Lambda
 * and by process managers) and SIGINT shut down gracefully.
 */
import { loadConfig } from "./config.ts";
import { logger } from "./log.ts";
import { loadAppSecret } from "./ports/secrets.ts";
import { startApiServer } from "./server.ts";

// Before the app is built: its providers and keys come from the secret. A secret that cannot
// be loaded has been logged; exiting makes the adapter report a failed start, not serve 503s.
await loadAppSecret().catch(() => process.exit(1));
const server = await startApiServer(loadConfig());
logger.info("api listening", { url: server.url });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    logger.info("shutting down", { signal });
    void server.close().then(() => process.exit(0));
  });
}
