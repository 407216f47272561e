/**
 * Every error code of the API, each with its one status: a failure of one kind answers
 * alike on every route (docs/decisions.md, "API contract (issue 15)"). The body is always
 * `{"error": {"code", "message", "request_id"}}`, plus `fields` for bad input and
 * `details` where a code says more.
 */
import { z } from "zod";
import { FieldError, named } from "./schemas.ts";

/** Which limit a 429 ran into. */
export const RATE_LIMITS = [
  "answers_per_ip",
  "answers_per_survey",
  "chat_messages_per_minute",
  "daily_token_budget",
  "chats_per_hour",
  "persona_starts_per_day",
  "sign_ins_per_ip",
  "exports_per_day",
  "deletions_per_day",
] as const;

interface ErrorSpec {
  status: number;
  description: string;
  /** The body lists the bad fields. */
  fields?: true;
  /** The body's `details`. */
  details?: z.ZodType;
  /** Response headers this error always carries. */
  headers?: readonly ("retry-after" | "www-authenticate" | "allow")[];
}

export const NotEnoughAnswers = named(
  "NotEnoughAnswers",
  z.strictObject({ answers: z.number().int().min(0), needed: z.number().int().min(1) }),
  "How many answers the survey has, and how many more a persona needs (at least 1 while no round of 3 is published).",
);
export const RateLimit = named("RateLimit", z.strictObject({ limit: z.enum(RATE_LIMITS) }), "Which limit was reached.");

export const ERRORS = {
  invalid_json: { status: 400, description: "The body is empty, not UTF-8 or not JSON." },
  validation_failed: { status: 400, fields: true, description: "The body does not match its schema; `fields` lists every bad field." },
  invalid_query: { status: 400, fields: true, description: "A query parameter is invalid (`limit`, `cursor`, `direction`, …)." },
  invalid_path: { status: 400, description: "The path has an invalid percent-encoding." },
  empty_message: { status: 400, description: "The message is empty after trimming." },
  message_too_long: { status: 400, description: "The message is longer than CHAT_MESSAGE_MAX_CHARS." },
  invalid_event_id: { status: 400, description: "`Last-Event-ID` or `after` is not an event id this API gives out." },
  unknown_event_id: { status: 400, description: "The event id is not one of this reply's (a later alternate, or past its end)." },
  unauthorized: { status: 401, headers: ["www-authenticate"], description: "No credentials, or credentials that do not hold up." },
  account_deleted: {
    status: 401,
    headers: ["www-authenticate"],
    description: "The account these credentials belong to was deleted (`DELETE /v1/me`); signing in again makes a new account.",
  },
  forbidden: {
    status: 403,
    description: "Not for the caller, on a thing they already know exists (their own survey's anonymous answer form).",
  },
  not_found: { status: 404, description: "No such thing, or one that is private to someone else." },
  method_not_allowed: {
    status: 405,
    headers: ["allow"],
    description: "The path exists, but not for this method; `Allow` lists the methods.",
  },
  duplicate_answer: { status: 409, description: "This survey already has an answer from this device." },
  saga_running: { status: 409, description: "A persona is already being generated." },
  reply_in_progress: { status: 409, description: "A reply is already being generated in this chat." },
  reply_not_generating: { status: 409, description: "That reply is not being generated (any more)." },
  too_many_alternates: { status: 409, description: "The reply has as many alternates as it can keep (25); choose one of them." },
  not_last_turn: {
    status: 409,
    description: "Only the chat's last turn can be regenerated, edited or given another alternate: its last user message and its reply.",
  },
  persona_deleted: { status: 409, description: "The chat's persona was deleted: its history stays readable, it takes no new messages." },
  survey_closed: { status: 409, description: "The survey is closed and takes no more answers." },
  survey_not_closed: { status: 409, description: "Close the survey before opening a new round of asking after it." },
  survey_not_current: { status: 409, description: "A newer round of asking after this survey exists already." },
  account_deletion_in_progress: {
    status: 409,
    description: "This account's deletion is still running; signing up again works once it is done (minutes).",
  },
  payload_too_large: { status: 413, description: "The body is larger than BODY_LIMIT_BYTES." },
  unsupported_media_type: { status: 415, description: "The body is not `application/json` (UTF-8)." },
  not_enough_answers: {
    status: 422,
    details: NotEnoughAnswers,
    description: "No published round of 3 or more answers yet (a round waits for 3 changes).",
  },
  persona_not_ready: { status: 422, description: "The caller's own persona exists but is not ready yet." },
  model_refused: { status: 422, description: "The AI model declined to answer this." },
  rate_limited: {
    status: 429,
    details: RateLimit,
    headers: ["retry-after"],
    description: "A limit was reached; retry after `Retry-After` seconds.",
  },
  internal_error: { status: 500, description: "Something failed on our side; the details are in our logs." },
  service_unavailable: {
    status: 503,
    headers: ["retry-after"],
    description: "A dependency (table, queue, secret) is unavailable; retry later.",
  },
  model_unavailable: {
    status: 503,
    headers: ["retry-after"],
    description: "The AI model is unavailable or gave no usable answer; retry later.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The codes of a stream's `error` event: what can go wrong once the response has begun. */
export const STREAM_ERRORS = ["model_refused", "model_unavailable", "service_unavailable", "internal_error"] as const;

const base = { message: z.string(), request_id: z.string().describe("Also in the `x-request-id` header, and in our logs.") };

/** One body per code, each a component (`Error_<code>`): with `fields` or `details` where the code has them. */
const bodies = Object.fromEntries(
  (Object.entries(ERRORS) as [ErrorCode, ErrorSpec][]).map(([code, spec]) => {
    const error = z.strictObject({
      code: z.literal(code),
      ...base,
      ...(spec.fields ? { fields: z.array(FieldError) } : {}),
      ...(spec.details ? { details: spec.details } : {}),
    });
    return [code, named(`Error_${code}`, z.strictObject({ error }), spec.description)];
  }),
) as unknown as Record<ErrorCode, z.ZodType>;

/** The error body of any of `codes`. */
export function errorBody(codes: readonly ErrorCode[]): z.ZodType {
  const [first, ...rest] = codes.map((code) => bodies[code]);
  if (!first) throw new Error("errorBody needs a code");
  return rest.length === 0 ? first : z.union([first, ...rest]);
}

/** Any error body, for a client's types. */
export const ApiError = named("ApiError", errorBody(Object.keys(ERRORS) as ErrorCode[]), "Every error the API answers with.");
export type ApiError = z.infer<typeof ApiError>;

/** A stream's last event when it fails: the code a reply would have carried. */
export const StreamError = named(
  "StreamError",
  z.strictObject({ code: z.enum(STREAM_ERRORS), message: z.string() }),
  "Replaces the stream's remaining events when it fails after it began.",
);
