/**
 * The building blocks of the API contract: the registry of named schemas (the OpenAPI
 * document's `components.schemas`), ids, timestamps, pagination and error bodies. Zod only,
 * no node imports: a browser bundle imports this module for its types.
 */
import { z } from "zod";
import { ChatId, MessageId as ChatIdShape, PersonaId, PersonaRef, SurveyId } from "../../data/ids.ts";

export interface SchemaMeta {
  /** The component's name in the OpenAPI document. */
  id: string;
  description?: string;
}

/** Every named schema of the contract: each becomes `#/components/schemas/<id>`. */
export const components = z.registry<SchemaMeta>();

/**
 * Names a schema: it becomes a component of the OpenAPI document, and every use refers to it.
 * @example export const Chat = named("Chat", z.strictObject({ chat_id: ChatId }));
 */
export function named<S extends z.ZodType>(id: string, schema: S, description?: string): S {
  if (componentIds.has(id)) throw new Error(`Two schemas named ${id}`);
  componentIds.add(id);
  components.add(schema, description ? { id, description } : { id });
  return schema;
}

/** The names taken so far. */
export const componentIds = new Set<string>();

named("SurveyId", SurveyId, "A survey's id: 22 characters of base64url.");
named("PersonaId", PersonaId, "A persona's public id: 16 characters of base64url (never the owner's user id).");
named("PersonaRef", PersonaRef, "A persona id, or `me` for the caller's own persona.");
named("ChatId", ChatId, "A chat's id: time-ordered, 21 characters.");
/** Messages are named like chats (time-ordered), but are their own kind. */
export const MessageId = named(
  "MessageId",
  ChatIdShape.clone(),
  "A message's id (a user's message or a reply): time-ordered, 21 characters.",
);
export { ChatId, PersonaId, PersonaRef, SurveyId };

/** ISO 8601 in UTC, as `Date.prototype.toISOString` writes it. */
export const Timestamp = z.iso.datetime();

/** An absolute URL built from PUBLIC_BASE_URL (or MEDIA_BASE_URL for media). */
export const AbsoluteUrl = z.url({ protocol: /^https?$/ });

/** Where the next page starts: a message or chat id this API handed out. */
export const CURSOR = /^[0-9a-z]{13}[\w-]{8}$/;

/** `limit` and `cursor`, the query of every list. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50).describe("Items per page, 1–100."),
  cursor: z.string().regex(CURSOR, "is not a cursor this API gave out").optional().describe("`next_cursor` of the page before."),
});

/** `next_cursor` of every page: null at the end of the walk. */
export const NextCursor = z.string().nullable().describe("Pass as `cursor` for the next page; null at the end.");

export const FieldError = named(
  "FieldError",
  z.strictObject({
    path: z.string().describe("The field: `answers.ratings.warm` in a body, the parameter's name in a query."),
    message: z.string(),
    keys: z.array(z.string()).optional().describe("Unknown keys, when that is what is wrong."),
  }),
);

/** Model token counts of one reply. */
export const Usage = named("Usage", z.strictObject({ input_tokens: z.number().int().min(0), output_tokens: z.number().int().min(0) }));
