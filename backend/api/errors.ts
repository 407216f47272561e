/**
 * The error taxonomy of DESIGN §3: tiny classes carrying a status and a stable `code`.
 * Anything thrown that is not an `HttpError` becomes a 500 whose message never leaves the
 * server.
 */
export interface ErrorExtra {
  fields?: FieldError[];
  details?: Record<string, unknown>;
}

/** One bad field of a request: its path (`answers.ratings.warm`, `limit`) and what is wrong. */
export interface FieldError {
  path: string;
  message: string;
  keys?: string[];
}

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /**
     * What else the client is told, under `error`: `fields` (the bad fields of a validation
     * failure) or `details` (anything else, e.g. which limit). Never loose keys.
     */
    readonly extra?: ErrorExtra,
    /** Extra response headers, e.g. `retry-after`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Not an error for the client: ends the request with 204 and no body. */
export class EmptyResponse extends HttpError {
  override name = "EmptyResponse";
  constructor() {
    super(204, "no_content", "No content");
  }
}

export class BadRequest extends HttpError {
  override name = "BadRequest";
  constructor(message = "Bad request", code = "bad_request", extra?: ErrorExtra) {
    super(400, code, message, extra);
  }
}

/** A body that fails its schema: 400 listing every bad field. */
export class ValidationFailed extends HttpError {
  override name = "ValidationFailed";
  constructor(readonly fields: FieldError[]) {
    super(400, "validation_failed", "The request body is invalid", { fields });
  }
}

/** Query parameters that fail their schema (a bad `limit`, `cursor`, `format`…): 400 listing each. */
export class InvalidQuery extends HttpError {
  override name = "InvalidQuery";
  constructor(readonly fields: FieldError[]) {
    super(400, "invalid_query", "The query string is invalid", { fields });
  }
}

export class IncorrectSignature extends HttpError {
  override name = "IncorrectSignature";
  constructor(message = "Incorrect signature") {
    super(400, "incorrect_signature", message);
  }
}

export class Unauthorized extends HttpError {
  override name = "Unauthorized";
  constructor(message = "Authentication required", code = "unauthorized") {
    super(401, code, message, undefined, { "www-authenticate": "Bearer" });
  }
}

export class Forbidden extends HttpError {
  override name = "Forbidden";
  constructor(message = "Forbidden") {
    super(403, "forbidden", message);
  }
}

export class NotFound extends HttpError {
  override name = "NotFound";
  constructor(message = "Not found") {
    super(404, "not_found", message);
  }
}

export class MethodNotAllowed extends HttpError {
  override name = "MethodNotAllowed";
  constructor(allow: string[]) {
    super(405, "method_not_allowed", "Method not allowed", undefined, { allow: allow.join(", ") });
  }
}

export class Conflict extends HttpError {
  override name = "Conflict";
  constructor(message = "Conflict", code = "conflict") {
    super(409, code, message);
  }
}

export class PayloadTooLarge extends HttpError {
  override name = "PayloadTooLarge";
  constructor(limit: number) {
    super(413, "payload_too_large", `The request body exceeds ${limit} bytes`);
  }
}

export class UnsupportedMediaType extends HttpError {
  override name = "UnsupportedMediaType";
  constructor(expected: string) {
    super(415, "unsupported_media_type", `The request body must be ${expected}`);
  }
}

export class UnprocessableEntity extends HttpError {
  override name = "UnprocessableEntity";
  constructor(message: string, code = "unprocessable", details?: Record<string, unknown>) {
    super(422, code, message, details && Object.keys(details).length > 0 ? { details } : undefined);
  }
}

export class TooManyRequests extends HttpError {
  override name = "TooManyRequests";
  constructor(retryAfterSeconds: number, message = "Too many requests", code = "too_many_requests", details?: Record<string, unknown>) {
    super(429, code, message, details ? { details } : undefined, { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** A dependency (table, queue, model) is unreachable: the client may retry later. */
export class ServiceUnavailable extends HttpError {
  override name = "ServiceUnavailable";
  constructor(message = "Service unavailable", retryAfterSeconds = 5, code = "service_unavailable") {
    super(503, code, message, undefined, { "retry-after": String(retryAfterSeconds) });
  }
}

/** The client went away (before or while sending its body); nobody is left to answer. */
export class ClientClosedRequest extends HttpError {
  override name = "ClientClosedRequest";
  constructor() {
    super(499, "client_closed_request", "The client closed the request");
  }
}
