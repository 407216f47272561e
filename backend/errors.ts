/**
 * Errors the domain raises, in the product's words and free of HTTP. The API maps each
 * class to a status in one place (backend/api/domain-errors.ts); workers log them.
 */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** The caller may not do this to this thing (it exists and they can see it). */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
}

/** The request clashes with the current state, e.g. a second answer from one friend. */
export class ConflictError extends Error {
  override name = "ConflictError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Valid input that the current state cannot act on yet (e.g. too few answers). */
export class NotReadyError extends Error {
  override name = "NotReadyError";
  constructor(
    message: string,
    readonly code: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A limit of the product was reached; `limit` names which (`answers_per_ip`, `daily_token_budget`, …). */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
  constructor(
    message: string,
    readonly limit: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A secret or setting the operation needs is missing: the operator's problem, not the user's. */
export class NotConfiguredError extends Error {
  override name = "NotConfiguredError";
}

/** Input the domain refuses on its own rules (beyond a request schema), e.g. a message too long. */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
