/**
 * Every setting the backend reads, in one place, from the environment.
 *
 * AWS endpoints are not here on purpose: the SDK v3 clients read `AWS_ENDPOINT_URL_*`
 * (e.g. `AWS_ENDPOINT_URL_DYNAMODB`) themselves, so no local-only branch exists in code
 * that also runs in Lambda.
 */
export interface Config {
  port: number;
  tableName: string;
  synthesisQueueUrl: string;
  imageQueueUrl: string;
  mediaBucket: string;
  /** Allowed CORS origins; `["*"]` allows any origin (no credentials are ever allowed). */
  corsOrigins: string[];
  /** Largest JSON request body accepted, in bytes. */
  bodyLimitBytes: number;
  /** Interval between SSE heartbeat comments, in milliseconds. */
  sseHeartbeatMs: number;
  /** How long SIGTERM waits for open requests and streams before closing them. */
  shutdownGraceMs: number;
  /** Timeout of each dependency probe behind `/readyz`. */
  readinessTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  return {
    port: int(env, "PORT", 8080),
    tableName: env.TABLE_NAME || "remirai",
    synthesisQueueUrl: env.SYNTHESIS_QUEUE_URL || "",
    imageQueueUrl: env.IMAGE_QUEUE_URL || "",
    mediaBucket: env.MEDIA_BUCKET || "remirai-media",
    corsOrigins: (env.CORS_ORIGINS || "*").split(",").map((o) => o.trim()).filter(Boolean),
    bodyLimitBytes: int(env, "BODY_LIMIT_BYTES", 64 * 1024),
    sseHeartbeatMs: int(env, "SSE_HEARTBEAT_MS", 15_000),
    shutdownGraceMs: int(env, "SHUTDOWN_GRACE_MS", 10_000),
    readinessTimeoutMs: int(env, "READINESS_TIMEOUT_MS", 2_000),
  };
}
