/** The caller's persona: its state, the saga's start, the live status feed, visibility. */
import { z } from "zod";
import { StreamError } from "./errors.ts";
import { operation } from "./operation.ts";
import { AbsoluteUrl, named, PersonaId, Timestamp } from "./schemas.ts";

export const PersonaStatus = named(
  "PersonaStatus",
  z.enum(["pending", "synthesizing", "generating_image", "ready", "failed"]),
  "pending → synthesizing → generating_image → ready, or failed.",
);

export const PersonaCard = named(
  "PersonaCard",
  z.strictObject({
    name: z.string(),
    tagline: z.string(),
    personality: z.string(),
    speaking_style: z.string(),
    greeting: z.string(),
    interests: z.array(z.string()),
    visual_description: z.string(),
    version: z.number().int().min(1),
  }),
  "The ready version's card, as its owner sees it.",
);

export const PersonaView = named(
  "Persona",
  z.strictObject({
    persona_id: PersonaId.nullable().describe("Null until the first start."),
    status: PersonaStatus,
    reason: z.string().nullable().describe("Why the last saga failed."),
    answers: z.number().int().min(0).describe("Answers to the open survey so far."),
    answers_needed: z.number().int().min(0),
    card: PersonaCard.nullable().describe("The last ready version; kept while a new one is generated."),
    illustration_url: AbsoluteUrl.nullable().describe(
      "Public persona: its portrait's public, cacheable copy. Private: `GET /v1/personas/me/portrait`, for the signed-in owner only.",
    ),
    saga_id: z.string().nullable(),
    version: z.number().int().min(0),
    updated_at: Timestamp.nullable(),
    generated_by: z.strictObject({ writer: z.string(), illustrator: z.string() }).nullable().describe("Which models (or `offline`)."),
  }),
  "The caller's persona and how far it is.",
);
export type PersonaView = z.infer<typeof PersonaView>;

export const SagaStarted = named(
  "SagaStarted",
  z.strictObject({ status: PersonaStatus, saga_id: z.string(), version: z.number().int().min(1) }),
  "The saga begun; follow it on GET /v1/personas/me/events.",
);

export const StatusChange = named(
  "StatusChange",
  z.strictObject({
    status: PersonaStatus,
    saga_id: z.string().nullable(),
    version: z.number().int().min(0),
    reason: z.string().nullable(),
    at: Timestamp,
  }),
  "One status change; its sequence number is the SSE event's `id`.",
);

export const StatusFeed = named(
  "StatusFeed",
  z.strictObject({
    status: PersonaStatus.describe("Where the persona stands now."),
    events: z.array(
      z.strictObject({ event_id: z.number().int().min(1).describe("Resume after it with `?after=`."), ...StatusChange.shape }),
    ),
  }),
  "The status changes after `Last-Event-ID` or `?after=`, without waiting for more.",
);

export const VisibilityChange = named("VisibilityChange", z.strictObject({ public: z.boolean() }));
export const Visibility = named(
  "Visibility",
  z.strictObject({
    persona_id: PersonaId,
    public: z.boolean(),
    card_url: AbsoluteUrl.describe("The card's URL (404 to others while private)."),
  }),
);

const StatusQuery = z.object({
  after: z.coerce.number().int().min(0).max(9_999_999_999).optional().describe("Resume after this event id (as `Last-Event-ID` does)."),
});

export const personas = {
  get: operation({
    operationId: "getMyPersona",
    method: "GET",
    path: "/v1/personas/me",
    tag: "personas",
    summary: "The caller's persona: status, card, illustration, answers so far",
    auth: "user",
    responses: { 200: { description: "The persona (status `pending` before any start).", body: PersonaView } },
  }),
  start: operation({
    operationId: "startMyPersona",
    method: "POST",
    path: "/v1/personas/me",
    tag: "personas",
    summary: "Start (or regenerate) the persona from the open survey",
    auth: "user",
    responses: { 202: { description: "The saga has begun.", body: SagaStarted, headers: ["location"] } },
    errors: ["saga_running", "not_enough_answers", "rate_limited"],
  }),
  events: operation({
    operationId: "followMyPersona",
    method: "GET",
    path: "/v1/personas/me/events",
    tag: "personas",
    summary: "Status changes: live (SSE) or what happened so far (JSON)",
    description:
      "With `Accept: text/event-stream`: the saga's status changes until `ready` or `failed`, resumable with `Last-Event-ID`; before any start one `pending` event with `retry: 30000`, then the end. A feed never outlives the stream's maximum life: while a step runs long the server looks for changes less and less often (up to every 5 s by default), and a feed that reaches its maximum life ends with `retry:` set to that interval, when reconnecting is worth it. Otherwise JSON of the changes after `Last-Event-ID` / `?after=`, at once.",
    auth: "user",
    query: StatusQuery,
    responses: {
      200: {
        description: "The changes.",
        body: StatusFeed,
        events: { status: StatusChange, error: StreamError },
        eventsDescription: "`status` events (id: the sequence number) until `ready` or `failed`; `error` if the feed fails.",
      },
      204: { description: "SSE only: the persona is settled and the client has seen every change (EventSource stops reconnecting)." },
    },
  }),
  visibility: operation({
    operationId: "setMyPersonaVisibility",
    method: "PUT",
    path: "/v1/personas/me/visibility",
    tag: "personas",
    summary: "Make the card public or private",
    auth: "user",
    body: VisibilityChange,
    responses: { 200: { description: "The new state.", body: Visibility } },
    // No persona yet.
    errors: ["not_found"],
  }),
};
