/**
 * Every setting the backend reads, in one place, from the environment.
 *
 * AWS endpoints are not here on purpose: the SDK v3 clients read `AWS_ENDPOINT_URL_*`
 * (e.g. `AWS_ENDPOINT_URL_DYNAMODB`) themselves, so no local-only branch exists in code
 * that also runs in Lambda.
 */
export type AuthMode = "local" | "edge" | "apigw";

export interface Config {
  port: number;
  /**
   * Where the caller's identity comes from: `local` trusts `x-user-uid` (development only),
   * `edge` trusts what our Lambda@Edge authorizer injected, `apigw` the API Gateway
   * authorizer. Defaults to `edge`: a missing setting never opens the door.
   */
  authMode: AuthMode;
  /** Base URL of the web app, for links we hand out (survey URLs). */
  publicBaseUrl: string;
  /** Our JWTs: issuer and audience (ES256). */
  jwtIssuer: string;
  jwtAudience: string;
  /** Lifetime of the JWTs we sign, and the longest we accept (API and edge alike). */
  jwtTtlSeconds: number;
  /** Google sign-in: our OAuth client id (the ID token's audience), issuers and key set. */
  googleClientId: string;
  googleIssuers: string[];
  googleJwksUrl: string;
  /** Base URL of media objects (portraits): CloudFront's `/media` in AWS, the local S3 locally. */
  mediaBaseUrl: string;
  /** The persona saga: per-step deadline before a re-drive, whole-saga deadline, re-drive cap. */
  stepTimeoutMs: number;
  sagaTimeoutMs: number;
  maxRedrives: number;
  /** The queues' redrive `maxReceiveCount`: the last attempt also fails the saga. */
  maxReceiveCount: number;
  /** Start the saga by itself on the 3rd answer. */
  autoGenerate: boolean;
  /** How often the persona status feed looks for new status events; doubling while a step runs long, up to the max. */
  personaEventsPollMs: number;
  personaEventsMaxPollMs: number;
  synthesisDlqUrl: string;
  imageDlqUrl: string;
  /** Chat limits: messages per user per minute, model tokens per user per UTC day, message length. */
  chatMessagesPerMinute: number;
  chatDailyTokenBudget: number;
  chatMessageMaxChars: number;
  /** Estimated tokens of recent history sent with each turn; older turns are summarised. */
  chatContextTokens: number;
  chatMaxOutputTokens: number;
  /** How often a streaming reply checks its stop flag in the table (never once per token). */
  chatStopPollMs: number;
  /** A reply keeps generating when its client leaves (resumable); off: it stops, stored `interrupted`. */
  chatContinueAfterDisconnect: boolean;
  /** How long a generator persisting its progress stays "alive" without writing (it renews at a third of it). */
  chatLeaseMs: number;
  /** Shortest time between two progress writes of a reply (the write budget: ≤ 1 per this). */
  chatProgressIntervalMs: number;
  /** How often a resumed reader looks for new progress. */
  chatResumePollMs: number;
  /** How long deleting a chat removes its messages before it answers; the rest goes on in the background. */
  chatDeleteInlineMs: number;
  /** Model-written chemistry blurbs per caller per hour (past it: offline blurbs; 0 = no limit), and their time limit. */
  chemistryBlurbsPerHour: number;
  chemistryBlurbTimeoutMs: number;
  /** Survey answer rate limits. */
  answersPerIpPerHour: number;
  answersPerSurveyPerMinute: number;
  /** Costly actions per user (0 = no limit): persona starts per UTC day, new chats per hour, exports and deletions per UTC day. */
  personaStartsPerDay: number;
  chatsPerHour: number;
  exportsPerDay: number;
  deletionsPerDay: number;
  /** Sign-in attempts per client IP per hour (0 = no limit). */
  signInsPerIpPerHour: number;
  /** How long browsers and CloudFront may keep a public portrait (also how long one may outlive a switch to private in caches). */
  mediaPublicMaxAgeSeconds: number;
  /** Deletions: the queue that carries large ones, items deleted inside the request before handing over, and the second pass's delay. */
  lifecycleQueueUrl: string;
  deletionInlineItems: number;
  deletionRecheckSeconds: number;
  tableName: string;
  synthesisQueueUrl: string;
  imageQueueUrl: string;
  mediaBucket: string;
  /** Allowed CORS origins; `["*"]` allows any origin (no credentials are ever allowed). */
  corsOrigins: string[];
  /**
   * Largest JSON request body accepted, in bytes. The edge bundle bakes in the same number
   * (scripts/build.ts), so the edge and the API refuse the same bodies.
   */
  bodyLimitBytes: number;
  /** Interval between SSE heartbeat comments, in milliseconds. */
  sseHeartbeatMs: number;
  /** Longest an SSE stream may run before it ends itself (no stream outlives the function). */
  sseMaxLifeMs: number;
  /** Pads each SSE event to at least this many bytes, so buffering proxies pass it on; 0 = off. */
  sseFlushPaddingBytes: number;
  /** node:http: a client's whole request head, and whole request, must arrive within these (408 otherwise). */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  /** How long SIGTERM waits for open requests and streams before closing them. */
  shutdownGraceMs: number;
  /** Timeout of each dependency probe behind `/readyz`. */
  readinessTimeoutMs: number;
  /** Timeouts and attempts of every AWS SDK client (validated here; the clients read them from the environment). */
  awsClients: AwsClientSettings;
  /** CloudWatch metrics (EMF lines on stdout, backend/ports/metrics.ts): their namespace, and whether any are written. */
  metricsNamespace: string;
  metricsEnabled: boolean;
}

/**
 * Every AWS SDK client (DynamoDB, SQS, S3) gives up on an attempt after `requestTimeoutMs`
 * (`connectTimeoutMs` for the TCP connect alone) and makes at most `maxAttempts`, so a lost
 * dependency costs a request about `maxAttempts × requestTimeoutMs`, then a 503.
 */
export interface AwsClientSettings {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxAttempts: number;
}

type Env = Record<string, string | undefined>;

/**
 * The most a CloudFront viewer-request function sees of a body with IncludeBody ("40 KB",
 * CloudFront developer guide, restrictions on Lambda@Edge): read as 40,000, the smaller
 * reading. A larger body cannot be hashed for the Function URL's SigV4, so it cannot reach
 * the API through CloudFront at all (docs/decisions.md, Infrastructure).
 */
export const VIEWER_REQUEST_BODY_MAX_BYTES = 40_000;

/** A character of a JSON string costs at most 6 bytes (`\u001f`, a lone surrogate). */
const JSON_BYTES_PER_CHAR = 6;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A setting where 0 would mean "nothing works" rather than "off". */
function positive(env: Env, name: string, fallback: number): number {
  const value = int(env, name, fallback);
  if (value === 0) throw new Error(`${name} must be a positive integer, got 0`);
  return value;
}

/** A setting with a hard ceiling (e.g. SQS's longest message delay, 900 s). */
function atMost(env: Env, name: string, fallback: number, ceiling: number): number {
  const value = int(env, name, fallback);
  if (value > ceiling) throw new Error(`${name} must be at most ${ceiling}, got ${value}`);
  return value;
}

function authMode(raw: string | undefined): AuthMode {
  const mode = raw || "edge";
  if (mode !== "local" && mode !== "edge" && mode !== "apigw") {
    throw new Error(`AUTH_MODE must be local, edge or apigw, got ${JSON.stringify(raw)}`);
  }
  return mode;
}

export function loadConfig(env: Env = process.env): Config {
  const config = readConfig(env);
  if (config.authMode === "edge" && config.bodyLimitBytes > VIEWER_REQUEST_BODY_MAX_BYTES) {
    throw new Error(
      `BODY_LIMIT_BYTES=${config.bodyLimitBytes} is more than CloudFront's edge can hash (${VIEWER_REQUEST_BODY_MAX_BYTES}); bodies past it never arrive`,
    );
  }
  // A message of the allowed length must never be refused for its size instead.
  if (config.chatMessageMaxChars * JSON_BYTES_PER_CHAR + 1024 > config.bodyLimitBytes) {
    throw new Error(
      `CHAT_MESSAGE_MAX_CHARS=${config.chatMessageMaxChars} can need more than BODY_LIMIT_BYTES=${config.bodyLimitBytes} as JSON`,
    );
  }
  return config;
}

function readConfig(env: Env): Config {
  return {
    port: int(env, "PORT", 8080),
    authMode: authMode(env.AUTH_MODE),
    publicBaseUrl: (env.PUBLIC_BASE_URL || "http://localhost:8080").replace(/\/+$/, ""),
    jwtIssuer: env.JWT_ISSUER || "https://remirai.app",
    jwtAudience: env.JWT_AUDIENCE || "remirai-api",
    jwtTtlSeconds: positive(env, "JWT_TTL_SECONDS", 24 * 60 * 60),
    googleClientId: env.GOOGLE_CLIENT_ID || "",
    googleIssuers: (env.GOOGLE_ISSUERS || "https://accounts.google.com,accounts.google.com")
      .split(",")
      .map((i) => i.trim())
      .filter(Boolean),
    googleJwksUrl: env.GOOGLE_JWKS_URL || "https://www.googleapis.com/oauth2/v3/certs",
    mediaBaseUrl: (env.MEDIA_BASE_URL || `${(env.PUBLIC_BASE_URL || "http://localhost:8080").replace(/\/+$/, "")}/media`).replace(
      /\/+$/,
      "",
    ),
    stepTimeoutMs: int(env, "SAGA_STEP_TIMEOUT_MS", 120_000),
    sagaTimeoutMs: int(env, "SAGA_TIMEOUT_MS", 900_000),
    maxRedrives: int(env, "SAGA_MAX_REDRIVES", 3),
    maxReceiveCount: int(env, "MAX_RECEIVE_COUNT", 5),
    autoGenerate: env.AUTO_GENERATE === "1" || env.AUTO_GENERATE === "true",
    personaEventsPollMs: int(env, "PERSONA_EVENTS_POLL_MS", 1_000),
    personaEventsMaxPollMs: int(env, "PERSONA_EVENTS_MAX_POLL_MS", 5_000),
    synthesisDlqUrl: env.SYNTHESIS_DLQ_URL || "",
    imageDlqUrl: env.IMAGE_DLQ_URL || "",
    chatMessagesPerMinute: int(env, "CHAT_MESSAGES_PER_MINUTE", 20),
    chatDailyTokenBudget: int(env, "CHAT_DAILY_TOKEN_BUDGET", 200_000),
    chatMessageMaxChars: int(env, "CHAT_MESSAGE_MAX_CHARS", 4_000),
    chatContextTokens: int(env, "CHAT_CONTEXT_TOKENS", 6_000),
    chatMaxOutputTokens: int(env, "CHAT_MAX_OUTPUT_TOKENS", 1_024),
    chatStopPollMs: int(env, "CHAT_STOP_POLL_MS", 300),
    chatContinueAfterDisconnect: !["0", "false"].includes(env.CHAT_CONTINUE_AFTER_DISCONNECT ?? ""),
    chatLeaseMs: positive(env, "CHAT_LEASE_MS", 15_000),
    chatProgressIntervalMs: positive(env, "CHAT_PROGRESS_INTERVAL_MS", 1_000),
    chatResumePollMs: positive(env, "CHAT_RESUME_POLL_MS", 500),
    chatDeleteInlineMs: int(env, "CHAT_DELETE_INLINE_MS", 1_000),
    chemistryBlurbsPerHour: int(env, "CHEMISTRY_BLURBS_PER_HOUR", 60),
    chemistryBlurbTimeoutMs: int(env, "CHEMISTRY_BLURB_TIMEOUT_MS", 10_000),
    answersPerIpPerHour: int(env, "ANSWERS_PER_IP_PER_HOUR", 5),
    answersPerSurveyPerMinute: int(env, "ANSWERS_PER_SURVEY_PER_MINUTE", 30),
    personaStartsPerDay: int(env, "PERSONA_STARTS_PER_DAY", 5),
    chatsPerHour: int(env, "CHATS_PER_HOUR", 30),
    exportsPerDay: int(env, "EXPORTS_PER_DAY", 5),
    deletionsPerDay: int(env, "DELETIONS_PER_DAY", 20),
    signInsPerIpPerHour: int(env, "SIGN_INS_PER_IP_PER_HOUR", 30),
    mediaPublicMaxAgeSeconds: int(env, "MEDIA_PUBLIC_MAX_AGE_SECONDS", 3_600),
    lifecycleQueueUrl: env.LIFECYCLE_QUEUE_URL || "",
    deletionInlineItems: int(env, "DELETION_INLINE_ITEMS", 200),
    deletionRecheckSeconds: atMost(env, "DELETION_RECHECK_SECONDS", 300, 900),
    tableName: env.TABLE_NAME || "remirai",
    synthesisQueueUrl: env.SYNTHESIS_QUEUE_URL || "",
    imageQueueUrl: env.IMAGE_QUEUE_URL || "",
    mediaBucket: env.MEDIA_BUCKET || "remirai-media",
    corsOrigins: (env.CORS_ORIGINS || "*")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    bodyLimitBytes: int(env, "BODY_LIMIT_BYTES", VIEWER_REQUEST_BODY_MAX_BYTES),
    sseHeartbeatMs: int(env, "SSE_HEARTBEAT_MS", 15_000),
    // Under the API function's 300 s timeout, with room to store how a reply ended.
    sseMaxLifeMs: int(env, "SSE_MAX_LIFE_MS", 240_000),
    sseFlushPaddingBytes: int(env, "SSE_FLUSH_PADDING_BYTES", 0),
    httpHeadersTimeoutMs: int(env, "HTTP_HEADERS_TIMEOUT_MS", 10_000),
    httpRequestTimeoutMs: int(env, "HTTP_REQUEST_TIMEOUT_MS", 30_000),
    shutdownGraceMs: int(env, "SHUTDOWN_GRACE_MS", 10_000),
    readinessTimeoutMs: int(env, "READINESS_TIMEOUT_MS", 2_000),
    awsClients: awsClientSettings(env),
    metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE || "Remirai",
    // Read as Powertools reads it (true, 1, yes, on).
    metricsEnabled: !/^(true|1|yes|on)$/i.test(env.POWERTOOLS_METRICS_DISABLED?.trim() ?? ""),
  };
}

/** Read by the AWS clients themselves when first made, as the SDK reads `AWS_ENDPOINT_URL_*`. */
export function awsClientSettings(env: Env = process.env): AwsClientSettings {
  // Zero would mean "no timeout" to the SDK, and no attempt at all: refused.
  const positive = (name: string, fallback: number) => {
    const value = int(env, name, fallback);
    if (value < 1) throw new Error(`${name} must be at least 1, got ${value}`);
    return value;
  };
  return {
    connectTimeoutMs: positive("AWS_CONNECT_TIMEOUT_MS", 1_000),
    requestTimeoutMs: positive("AWS_REQUEST_TIMEOUT_MS", 2_000),
    maxAttempts: positive("AWS_MAX_ATTEMPTS", 2),
  };
}

/**
 * Settings with no safe default in AWS, each with the modules whose work needs it. A deployed
 * function whose bundle holds one of those modules must be given the setting by its template
 * `Environment` or by the app secret (backend/ports/secrets.ts); test/deployed-settings.test.ts
 * checks every function of infrastructure/template.yaml against its bundle. A new setting
 * without a safe default belongs here.
 */
export const REQUIRED_IN_AWS: Readonly<Record<string, readonly string[]>> = {
  APP_SECRET_ARN: ["backend/ports/secrets.ts"],
  // The composition root binds the table, the step queues and the media bucket for every
  // function that composes the domains (all of them).
  TABLE_NAME: ["backend/compose.ts"],
  SYNTHESIS_QUEUE_URL: ["backend/compose.ts", "backend/ports/readiness.ts"],
  IMAGE_QUEUE_URL: ["backend/compose.ts", "backend/ports/readiness.ts"],
  // Large deletions continue on it (and the sweeper re-sends lost ones).
  LIFECYCLE_QUEUE_URL: ["backend/compose.ts"],
  MEDIA_BUCKET: ["backend/compose.ts"],
  // Survey links and portrait URLs (MEDIA_BASE_URL defaults to it).
  PUBLIC_BASE_URL: ["backend/api/handlers/surveys.ts", "backend/social/cards.ts"],
  GOOGLE_CLIENT_ID: ["backend/identity/google.ts"],
  JWT_PRIVATE_KEY: ["backend/identity/tokens.ts"],
  JWT_PUBLIC_KEY: ["backend/identity/tokens.ts"],
  FINGERPRINT_SECRET: ["backend/data/pseudonym.ts"],
};
