/**
 * `createApp` turns a route list into the `App` every adapter calls: it routes (404/405),
 * answers CORS preflights, runs the handler, maps errors to JSON, handles HEAD and
 * conditional GET, and writes one log line per request.
 *
 *   request ─> request id ─> router ─┬─ OPTIONS without handler ─> preflight / Allow
 *                                     ├─ none / method ─> 404 / 405 JSON
 *                                     └─ handler ─> Reply ─┬─ body   ─> 304? ─> write, end
 *                                        (throws ─> JSON error)   └─ stream ─> head, run, end
 */
import { randomUUID } from "node:crypto";
import { ClientClosedRequest, EmptyResponse, HttpError, MethodNotAllowed, NotFound } from "./errors.ts";
import type { Context, Route } from "./framework.ts";
import type { App, BodyReply, Reply, Request, ResponseHeaders, ResponseWriter, StreamContext } from "./http.ts";
import { Router } from "./router.ts";

export interface AppLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** What the one log line per request says. */
export type RequestLine = {
  method: string;
  route: string | null;
  status: number;
  duration_ms: number;
  request_id: string;
};

export interface AppOptions {
  routes: Route[];
  /** Allowed origins; `["*"]` for any. Credentials are never allowed (we use bearer tokens). */
  corsOrigins: string[];
  bodyLimitBytes: number;
  sseHeartbeatMs: number;
  /** Every stream ends itself after this long (no disconnect is seen under the Web Adapter). */
  sseMaxLifeMs: number;
  /** Pads each SSE event to at least this many bytes; 0 or absent: no padding. */
  sseFlushPaddingBytes?: number;
  logger: AppLogger;
  /** Writes the request's line (default: `logger.info("request", line)`); the production app adds its metrics to it. */
  requestLog?: (line: RequestLine) => void;
  /** Runs each request in a context of its own (the production app's: its log lines carry its id). */
  requestScope?: (requestId: string, handle: () => Promise<void>) => Promise<void>;
  /** Turns errors the layers below raise (the domain's) into HTTP errors; others are 500s. */
  mapError?: (error: unknown) => HttpError | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const EXPOSED = "x-request-id, retry-after, location, etag";
const PREFLIGHT_MAX_AGE = "600";

/** Which pattern matched (for the log line), and the reply to write. */
type Outcome = { route: string | null; reply: Reply };
const NO_REPLY: Reply = { kind: "body", status: 500, headers: {}, body: null };

export function createApp(options: AppOptions): App {
  const router = new Router<Route["handler"]>();
  for (const r of options.routes) router.add(r.method, r.path, r.handler);
  const anyOrigin = options.corsOrigins.includes("*");
  const origins = new Set(options.corsOrigins);
  const { logger } = options;
  const requestLog = options.requestLog ?? ((line: RequestLine) => logger.info("request", line));
  const scope = options.requestScope;
  const streaming: Omit<StreamContext, "signal"> = {
    heartbeatMs: options.sseHeartbeatMs,
    maxLifeMs: options.sseMaxLifeMs,
    flushPaddingBytes: options.sseFlushPaddingBytes ?? 0,
    mapError: options.mapError,
  };

  function corsHeaders(req: Request, headers: ResponseHeaders): void {
    const origin = req.headers.origin;
    if (!anyOrigin) headers.vary = "origin";
    if (origin === undefined || !(anyOrigin || origins.has(origin))) return;
    headers["access-control-allow-origin"] = anyOrigin ? "*" : origin;
    headers["access-control-expose-headers"] = EXPOSED;
  }

  /**
   * Runs the matched handler; `outcome.route` is set as soon as a route matches. Not `async`:
   * a reply the handler returns at once is written in the same turn (a stream's head goes out
   * as soon as a raw writer's would), and only a handler's own promise is waited for.
   */
  function dispatch(req: Request, requestId: string, outcome: Outcome): Promise<void> | undefined {
    const match = router.match(req.method, req.path);
    if (match.kind === "none") throw new NotFound(`No route for ${req.path}`);
    outcome.route = match.pattern;
    if (match.kind === "method") {
      if (req.method !== "OPTIONS") throw new MethodNotAllowed(match.allow);
      outcome.reply = options_(req, match.allow);
      return undefined;
    }
    const ctx = new RequestContext(req, match.params, requestId, match.pattern, options.bodyLimitBytes);
    const reply = match.value(ctx);
    if (!(reply instanceof Promise)) {
      outcome.reply = reply;
      return undefined;
    }
    return reply.then((value) => {
      outcome.reply = value;
    });
  }

  return function app(req, writer) {
    const incoming = req.headers["x-request-id"];
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    return scope ? scope(requestId, () => handle(req, writer, requestId)) : handle(req, writer, requestId);
  };

  function handle(req: Request, writer: ResponseWriter, requestId: string): Promise<void> {
    const started = performance.now();
    const outcome: Outcome = { route: null, reply: NO_REPLY };
    let handled: Promise<void> | undefined;
    try {
      handled = dispatch(req, requestId, outcome);
    } catch (error) {
      outcome.reply = replyToError(error, requestId);
    }
    if (!handled) return write(req, writer, requestId, outcome, started);
    // Closures only for a handler that waited: the synchronous path allocates none (and, bundled
    // with `keepNames`, names none per request).
    return handled
      .then(undefined, (error) => {
        outcome.reply = replyToError(error, requestId);
      })
      .then(() => write(req, writer, requestId, outcome, started));
  }

  function replyToError(error: unknown, requestId: string): BodyReply {
    const mapped = error instanceof HttpError ? error : (options.mapError?.(error) ?? error);
    return errorReply(mapped, requestId, logger);
  }

  async function write(req: Request, writer: ResponseWriter, requestId: string, outcome: Outcome, started: number): Promise<void> {
    // A copy: the handler's reply may be a shared constant, and is never written into.
    const headers: ResponseHeaders = { ...outcome.reply.headers, "x-request-id": requestId };
    corsHeaders(req, headers);
    const reply: Reply = { ...outcome.reply, headers };
    let status = reply.status;
    try {
      if (reply.kind === "body") {
        const final = notModified(req, reply);
        status = final.status;
        await writeBody(req, writer, final);
      } else {
        await writeStream(req, writer, reply, streaming, requestId, logger);
      }
    } finally {
      requestLog({
        method: req.method,
        route: outcome.route,
        status,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        request_id: requestId,
      });
    }
  }
}

/**
 * A class, not an object literal with a `get query()`: V8 gives every literal with its own
 * getter closure a new hidden class, which under load filled the heap with maps and made GC
 * several times costlier (docs/decisions.md, Benchmark).
 */
class RequestContext implements Context {
  #query: URLSearchParams | undefined;

  constructor(
    readonly req: Request,
    readonly params: Readonly<Record<string, string>>,
    readonly requestId: string,
    readonly route: string,
    readonly bodyLimit: number,
  ) {}

  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.req.rawQuery));
  }
}

/** OPTIONS on a known path: a CORS preflight, or a plain `Allow` answer. */
function options_(req: Request, allow: string[]): BodyReply {
  const headers: ResponseHeaders = { allow: allow.join(", "), "cache-control": "no-store" };
  if (req.headers["access-control-request-method"] !== undefined) {
    headers["access-control-allow-methods"] = allow.join(", ");
    const wanted = req.headers["access-control-request-headers"];
    if (wanted !== undefined && /^[\w\-, ]*$/.test(wanted)) headers["access-control-allow-headers"] = wanted;
    headers["access-control-max-age"] = PREFLIGHT_MAX_AGE;
  }
  return { kind: "body", status: 204, headers, body: null };
}

function errorReply(error: unknown, requestId: string, logger: AppLogger): BodyReply {
  if (error instanceof EmptyResponse) {
    return { kind: "body", status: 204, headers: { "cache-control": "no-store" }, body: null };
  }
  const known = error instanceof HttpError;
  if (!known) logger.error("unhandled error", { request_id: requestId, error: describe(error) });
  // A 5xx made from a lower layer's error says little to the client; the detail goes here.
  else if (error.status >= 500 && error.cause !== undefined) {
    logger.error("request failed", { request_id: requestId, status: error.status, error: describe(error.cause) });
  }
  const status = known ? error.status : 500;
  const body = {
    error: {
      code: known ? error.code : "internal_error",
      message: known ? error.message : "Internal server error",
      request_id: requestId,
      ...(known ? error.extra : undefined),
    },
  };
  const headers: ResponseHeaders = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    ...(known ? error.headers : undefined),
  };
  return { kind: "body", status, headers, body: JSON.stringify(body) };
}

function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { value: String(error) };
  const { cause } = error;
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(cause instanceof Error ? { cause: `${cause.name}: ${cause.message}` } : {}),
  };
}

/** RFC 9110 §13.1.2: weak comparison of `If-None-Match` against the reply's ETag. */
function notModified(req: Request, reply: BodyReply): BodyReply {
  const etag = reply.headers.etag;
  const condition = req.headers["if-none-match"];
  if (typeof etag !== "string" || condition === undefined || reply.status !== 200) return reply;
  if (req.method !== "GET" && req.method !== "HEAD") return reply;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const matches = condition.trim() === "*" || condition.split(",").some((tag) => opaque(tag) === opaque(etag));
  if (!matches) return reply;
  const headers: ResponseHeaders = {};
  for (const name of ["etag", "cache-control", "vary", "x-request-id", "access-control-allow-origin", "access-control-expose-headers"]) {
    const value = reply.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return { kind: "body", status: 304, headers, body: null };
}

/** `reply.headers` is the app's own copy (see `app`), so the length may be written into it. */
async function writeBody(req: Request, writer: ResponseWriter, reply: BodyReply): Promise<void> {
  const { body } = reply;
  const bodyless = reply.status === 204 || reply.status === 304;
  if (body !== null && !bodyless) {
    reply.headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
  } else if (!bodyless) {
    reply.headers["content-length"] = "0";
  }
  writer.head(reply.status, reply.headers, false);
  await writer.end(body === null || bodyless || req.method === "HEAD" ? undefined : body);
}

async function writeStream(
  req: Request,
  writer: ResponseWriter,
  reply: Extract<Reply, { kind: "stream" }>,
  streaming: Omit<StreamContext, "signal">,
  requestId: string,
  logger: AppLogger,
): Promise<void> {
  writer.head(reply.status, reply.headers, true);
  try {
    if (req.method !== "HEAD") {
      await reply.run((chunk) => writer.write(chunk), { ...streaming, signal: req.signal });
    }
  } catch (error) {
    if (!(error instanceof ClientClosedRequest)) {
      logger.error("stream failed", { request_id: requestId, error: describe(error) });
    }
  } finally {
    await writer.end();
  }
}
