/** Starts the API on node:http (used by `./run.sh`, tests and `backend/main.ts`). */
import type { Config } from "./config.ts";
import { serve } from "./api/adapters/node.ts";
import { createApi, type ApiOptions } from "./api/index.ts";

export interface ApiServer {
  url: string;
  /** Graceful: waits for open requests and streams up to `config.shutdownGraceMs`. */
  close(): Promise<void>;
}

export async function startApiServer(config: Config, opts: { host?: string } & ApiOptions = {}): Promise<ApiServer> {
  const running = await serve(createApi(config, opts), {
    port: config.port,
    host: opts.host ?? process.env.HOST ?? "127.0.0.1",
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    requestTimeoutMs: config.httpRequestTimeoutMs,
  });
  return { url: running.url, close: () => running.close(config.shutdownGraceMs) };
}
