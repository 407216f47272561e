/**
 * When a dependency (DynamoDB, SQS, S3) fails in a way that waiting may cure — unreachable,
 * timed out, throttled, or a 5xx of its own — callers get one domain error for it,
 * `DependencyUnavailableError`, whatever the client said. The API answers it with 503 +
 * Retry-After (api/domain-errors.ts); a chat stream with a `service_unavailable` event.
 * Everything else (a failed condition, a validation error, a missing table) passes through
 * unchanged: retrying would not help, so it must not look as if it would.
 */

export type Dependency = "dynamodb" | "sqs" | "s3";

export class DependencyUnavailableError extends Error {
  override name = "DependencyUnavailableError";
  /** What clients are told: no service, setting or host in it (those go to the log). */
  static readonly publicMessage = "A service we depend on is unavailable; try again shortly";

  readonly dependency: Dependency;
  /** The SDK's error name or socket error code, e.g. `TimeoutError`, `ECONNREFUSED`. */
  readonly reason: string;

  // Fields spelled out, not parameter properties: the test run's global setup loads this
  // file through Node's type stripping, which has no parameter properties.
  constructor(dependency: Dependency, reason: string, options: { cause?: unknown } = {}) {
    super(`${dependency} unavailable: ${reason}`, options);
    this.dependency = dependency;
    this.reason = reason;
  }
}

/** Error names of the services meaning "busy or broken on our side, try again". */
const TRANSIENT_NAMES = new Set([
  // throttling
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "SlowDown",
  "LimitExceededException",
  "KmsThrottled",
  "TransactionInProgressException",
  // the service's own failures
  "InternalServerError",
  "InternalFailure",
  "InternalError",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  // timeouts (the request handler's, or the service's)
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

/** Socket errors: nothing listens, the connection broke, or the host cannot be found right now. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** Transaction cancellation reasons that are throttling, not a condition. */
const THROTTLED_REASONS = new Set(["ThrottlingError", "ProvisionedThroughputExceeded"]);

interface SdkError {
  name?: string;
  code?: string;
  cause?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  CancellationReasons?: { Code?: string }[];
}

/**
 * Whether an error from an AWS SDK call is a transient failure of the dependency.
 * @example isTransientFailure(Object.assign(new Error("x"), { code: "ECONNREFUSED" })) // true
 */
export function isTransientFailure(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 5) return false;
  const e = error as SdkError;
  // Aborted by a caller's deadline (AbortSignal.timeout) is a timeout; by anything else, not ours.
  if (e.name === "AbortError") return isTimeout(e.cause);
  if (e.name === "TransactionCanceledException") {
    const codes = (e.CancellationReasons ?? []).map((r) => r.Code ?? "None");
    return codes.some((c) => THROTTLED_REASONS.has(c)) && codes.every((c) => c === "None" || THROTTLED_REASONS.has(c));
  }
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    (e.name !== undefined && TRANSIENT_NAMES.has(e.name)) ||
    (e.code !== undefined && NETWORK_CODES.has(e.code)) ||
    e.$retryable !== undefined ||
    status >= 500 ||
    status === 429 ||
    isTransientFailure(e.cause, depth + 1)
  );
}

function isTimeout(reason: unknown): boolean {
  return typeof reason === "object" && reason !== null && (reason as Error).name === "TimeoutError";
}

/** The error as a `DependencyUnavailableError` when it is one (or transient), else undefined. */
export function asUnavailable(error: unknown, dependency: Dependency): DependencyUnavailableError | undefined {
  if (error instanceof DependencyUnavailableError) return error;
  if (!isTransientFailure(error)) return undefined;
  const e = error as SdkError;
  return new DependencyUnavailableError(dependency, e.code ?? e.name ?? "unknown", { cause: error });
}

interface ClientWithMiddleware {
  middlewareStack: { add(middleware: never, options: { step: "initialize"; name: string }): void };
}

/**
 * Makes every call of `client` fail with `DependencyUnavailableError` when, after the SDK's
 * own retries, the failure was transient. Runs outermost (initialize), so it sees the
 * last attempt's error.
 */
export function reportUnavailable<C extends ClientWithMiddleware>(client: C, dependency: Dependency): C {
  const middleware = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (error) {
      throw asUnavailable(error, dependency) ?? error;
    }
  };
  client.middlewareStack.add(middleware as never, { step: "initialize", name: "remiraiDependencyUnavailable" });
  return client;
}
