/**
 * The error taxonomy of DESIGN §3: tiny classes carrying a status and a stable `code`.
 * Anything thrown that is not an `HttpError` becomes a 500 whose message never leaves the
 * server.
 */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra fields under `error` in the JSON body, e.g. the list of bad fields. */
    readonly details?: Record<string, unknown>,
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
  constructor(message = "Bad request", code = "bad_request", details?: Record<string, unknown>) {
    super(400, code, message, details);
  }
}

/** A body that fails its schema: 400 listing every bad field. */
export class ValidationFailed extends HttpError {
  override name = "ValidationFailed";
  constructor(readonly fields: { path: string; message: string; keys?: string[] }[]) {
    super(400, "validation_failed", "The request body is invalid", { fields });
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
    super(422, code, message, details);
  }
}

export class TooManyRequests extends HttpError {
  override name = "TooManyRequests";
  constructor(retryAfterSeconds: number, message = "Too many requests", code = "too_many_requests") {
    super(429, code, message, undefined, { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** A dependency (table, queue, model) is unreachable: the client may retry later. */
export class ServiceUnavailable extends HttpError {
  override name = "ServiceUnavailable";
  constructor(message = "Service unavailable", retryAfterSeconds = 5) {
    super(503, "service_unavailable", message, undefined, { "retry-after": String(retryAfterSeconds) });
  }
}

/** The client went away (before or while sending its body); nobody is left to answer. */
export class ClientClosedRequest extends HttpError {
  override name = "ClientClosedRequest";
  constructor() {
    super(499, "client_closed_request", "The client closed the request");
  }
}
