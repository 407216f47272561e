/** The one place domain errors become HTTP errors. */
import { InvalidModelOutputError, ModelRefusedError, ModelUnavailableError } from "../ai/ports.ts";
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotConfiguredError,
  NotFoundError,
  NotReadyError,
  RateLimitedError,
} from "../errors.ts";
import { DependencyUnavailableError } from "../ports/dependency.ts";
import {
  BadRequest,
  Conflict,
  Forbidden,
  type HttpError,
  NotFound,
  ServiceUnavailable,
  TooManyRequests,
  UnprocessableEntity,
} from "./errors.ts";

/**
 * What a 503 says when a setting or secret is missing. Its detail (which setting) is for the
 * operator: it rides along as the error's `cause`, which the app logs with the request id.
 */
export const NOT_CONFIGURED = "The service is not fully configured; try again later";

/** `mapped`, remembering what it was made from (for the log line of a 5xx). */
export function withCause<E extends HttpError>(mapped: E, error: unknown): E {
  mapped.cause = error;
  return mapped;
}

/** The code of every 503 the model causes: a stream's `error` event says the same. */
export const MODEL_UNAVAILABLE = "model_unavailable";

/** As /readyz says: a restarted or unthrottled dependency is usually back within seconds. */
const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

export function httpErrorFor(error: unknown): HttpError | undefined {
  if (error instanceof NotFoundError) return new NotFound(error.message);
  if (error instanceof InvalidInputError) return new BadRequest(error.message, error.code);
  if (error instanceof ForbiddenError) return new Forbidden(error.message);
  if (error instanceof ConflictError) return new Conflict(error.message, error.code);
  if (error instanceof NotReadyError) return new UnprocessableEntity(error.message, error.code, error.details);
  // Every limit is one code; which limit it was is a detail (docs/decisions.md, API contract).
  if (error instanceof RateLimitedError)
    return new TooManyRequests(error.retryAfterSeconds, error.message, "rate_limited", { limit: error.limit });
  if (error instanceof NotConfiguredError) return withCause(new ServiceUnavailable(NOT_CONFIGURED, 60), error);
  // The model is down or busy: retry later; its own words (and any key) never reach the client.
  if (error instanceof ModelUnavailableError)
    return withCause(
      new ServiceUnavailable("The AI model is unavailable, try again later", error.retryAfterSeconds ?? 10, MODEL_UNAVAILABLE),
      error,
    );
  if (error instanceof InvalidModelOutputError)
    return withCause(new ServiceUnavailable("The AI model gave no usable answer, try again", 5, MODEL_UNAVAILABLE), error);
  // The table or a queue is unreachable, timed out or throttled (after the SDK's retries): which
  // one and why is logged by the app, never told to the client.
  if (error instanceof DependencyUnavailableError)
    return withCause(new ServiceUnavailable(DependencyUnavailableError.publicMessage, DEPENDENCY_RETRY_AFTER_SECONDS), error);
  if (error instanceof ModelRefusedError) return new UnprocessableEntity("The AI model declined to answer this", "model_refused");
  return undefined;
}
