/**
 * The small framework on top of the router: what a route handler sees (`Context`) and the
 * helpers it answers with (`respond`, `noContent`, `stream`, `streamBody`, `jsonBody`). `createApp` (in
 * app.ts) wires them to the adapters.
 */
import { BadRequest, UnsupportedMediaType } from "./errors.ts";
import type { BodyReply, Reply, Request, ResponseHeaders } from "./http.ts";

export type { App, Reply, Request, ResponseWriter } from "./http.ts";
export { streamBody } from "./body-stream.ts";
export { stream, StreamExpired } from "./sse.ts";
export type { EventSink, ServerSentEvent } from "./sse.ts";

export interface Context {
  readonly req: Request;
  /** Percent-decoded path parameters, e.g. `{ id }` for `/v1/surveys/:id`. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string, parsed on first use. */
  readonly query: URLSearchParams;
  /** The client's `x-request-id` when well-formed, else one we made; echoed on the response. */
  readonly requestId: string;
  /** The matched route pattern, e.g. `/v1/surveys/:id`. */
  readonly route: string;
  /** The default JSON body limit in bytes. */
  readonly bodyLimit: number;
}

export type Handler = (ctx: Context) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  path: string;
  handler: Handler;
}

/** @example route("GET", "/v1/surveys/:id", getSurvey) */
export function route(method: string, path: string, handler: Handler): Route {
  return { method: method.toUpperCase(), path, handler };
}

/** How long caches may keep a response. API responses default to `no-store`. */
export type CachePolicy =
  | "no-store"
  | "no-cache"
  | { maxAge: number; sMaxAge?: number; staleWhileRevalidate?: number; public?: boolean; immutable?: boolean };

export interface RespondOptions {
  status?: number;
  headers?: ResponseHeaders;
  cache?: CachePolicy;
  /** An entity tag (quoted, optionally `W/`); a matching `If-None-Match` turns the reply into 304. */
  etag?: string;
}

export function cacheControl(policy: CachePolicy): string {
  if (typeof policy === "string") return policy;
  const parts = [policy.public === false ? "private" : "public", `max-age=${policy.maxAge}`];
  if (policy.sMaxAge !== undefined) parts.push(`s-maxage=${policy.sMaxAge}`);
  if (policy.staleWhileRevalidate !== undefined) parts.push(`stale-while-revalidate=${policy.staleWhileRevalidate}`);
  if (policy.immutable) parts.push("immutable");
  return parts.join(", ");
}

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * A JSON reply.
 * @example return respond({ survey_id }, { status: 201, headers: { location } });
 */
export function respond(data: unknown, options: RespondOptions = {}): BodyReply {
  const headers: ResponseHeaders = {
    "content-type": JSON_TYPE,
    "cache-control": cacheControl(options.cache ?? "no-store"),
    ...options.headers,
  };
  if (options.etag !== undefined) headers.etag = options.etag;
  return { kind: "body", status: options.status ?? 200, headers, body: JSON.stringify(data) };
}

/** A reply without a body (204 by default), e.g. after a successful command. */
export function noContent(status = 204, headers: ResponseHeaders = {}): BodyReply {
  return { kind: "body", status, headers: { "cache-control": "no-store", ...headers }, body: null };
}

/**
 * Whether the client asked for an event stream: its `Accept` lists `text/event-stream` (with
 * a q above 0). Any other `Accept` (the wildcard, `application/json`) or none gets the finished result as JSON.
 * @example return acceptsEventStream(ctx.req) ? stream(producer) : respond(await finished());
 */
export function acceptsEventStream(req: Request): boolean {
  const accept = req.headers.accept;
  if (accept === undefined) return false;
  return accept.split(",").some((range) => {
    const [type = "", ...params] = range.split(";");
    if (type.trim().toLowerCase() !== "text/event-stream") return false;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isJsonMediaType(contentType: string): boolean {
  const [type = "", ...params] = contentType.split(";");
  const media = type.trim().toLowerCase();
  if (media !== "application/json" && !(media.startsWith("application/") && media.endsWith("+json"))) return false;
  for (const param of params) {
    const [name = "", value = ""] = param.split("=");
    if (name.trim().toLowerCase() === "charset" && value.trim().replace(/"/g, "").toLowerCase() !== "utf-8") {
      return false;
    }
  }
  return true;
}

/**
 * Reads and parses a JSON body: 415 unless the content type is JSON (UTF-8), 413 past the
 * limit (BODY_LIMIT_BYTES, 40,000 by default), 400 for an empty, non-UTF-8 or malformed document.
 * @example const input = await jsonBody(ctx); // then validate it with the route's schema
 */
export async function jsonBody(ctx: Context, options: { limit?: number } = {}): Promise<unknown> {
  const contentType = ctx.req.headers["content-type"];
  if (contentType === undefined || !isJsonMediaType(contentType)) {
    throw new UnsupportedMediaType("application/json");
  }
  const raw = await ctx.req.body(options.limit ?? ctx.bodyLimit);
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new BadRequest("The request body is not valid UTF-8", "invalid_json");
  }
  if (text.trim() === "") throw new BadRequest("The request body is empty", "invalid_json");
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest("The request body is not valid JSON", "invalid_json");
  }
}
