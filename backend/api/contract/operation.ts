/**
 * What one route promises: method, path, who may call it, its parameters, query and body,
 * each response status with its body (and, for streams, each event), and the error codes
 * it can answer with. The OpenAPI document is generated from these; handlers read their
 * input through them (handlers/input.ts); the contract test checks responses against them.
 */
import type { z } from "zod";
import type { ErrorCode } from "./errors.ts";

/** `anyone`: no sign-in; `user`: a signed-in caller; `owner`: a signed-in caller who owns the thing named. */
export type Auth = "anyone" | "user" | "owner";

/** Response headers the contract names. */
export const HEADERS = {
  location: { name: "Location", description: "Absolute URL of the resource (built from PUBLIC_BASE_URL)." },
  etag: { name: "ETag", description: "Entity tag; send it back as `If-None-Match` for a 304." },
  "content-disposition": { name: "Content-Disposition", description: "`attachment` with a file name." },
  "retry-after": { name: "Retry-After", description: "Seconds to wait before retrying." },
  "www-authenticate": { name: "WWW-Authenticate", description: "`Bearer`." },
  allow: { name: "Allow", description: "The methods the path answers to." },
} as const;
export type HeaderName = keyof typeof HEADERS;

export interface Reply {
  description: string;
  /** The JSON body; absent: no body (or one of `media`). */
  body?: z.ZodType;
  /** A body that is not JSON (an image), in any of these media types. */
  media?: readonly string[];
  /** Server-sent events by name, in the order they come; a route with both negotiates (`Accept`). */
  events?: Record<string, z.ZodType>;
  /** What `events` says about their order and end. */
  eventsDescription?: string;
  headers?: readonly HeaderName[];
}

export interface Operation {
  operationId: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** As in routes.ts: `/v1/surveys/:survey_id`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  /** Optional identity: anonymous callers are served, but credentials sent must hold up (401). */
  optionalAuth?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Readonly<Partial<Record<number, Reply>>>;
  /** Codes beyond those the rest implies (see `errorCodes`). */
  errors?: readonly ErrorCode[];
  /** Reads no table, queue or secret: no 503 (health, the document). */
  offline?: boolean;
}

/**
 * Every code an operation can answer with: its own, plus what its shape implies (a body:
 * invalid JSON, validation, size, media type; a query: `invalid_query`; path ids:
 * `not_found`; a signed-in caller: `unauthorized`, `account_deleted`; storage: `service_unavailable`).
 */
export function errorCodes(op: Operation): ErrorCode[] {
  const codes = new Set<ErrorCode>(op.errors ?? []);
  if (op.body) for (const c of ["invalid_json", "validation_failed", "payload_too_large", "unsupported_media_type"] as const) codes.add(c);
  if (op.query) codes.add("invalid_query");
  if (op.params) codes.add("not_found");
  if (op.auth !== "anyone" || op.optionalAuth) {
    codes.add("unauthorized");
    // Credentials of a deleted account are refused wherever credentials are read.
    codes.add("account_deleted");
  }
  if (!op.offline) codes.add("service_unavailable");
  codes.add("internal_error");
  return [...codes];
}

/** Keeps an operation's literal types, so handlers get typed input from it. */
export const operation = <const O extends Operation>(op: O): O => op;

/** What a handler reads from a request of `O`: typed params, query and body. */
export interface Input<O extends Operation> {
  params: O["params"] extends z.ZodObject ? z.output<O["params"]> : Record<string, never>;
  query: O["query"] extends z.ZodObject ? z.output<O["query"]> : Record<string, never>;
  body: O["body"] extends z.ZodType ? z.output<O["body"]> : undefined;
}
