/** Chats with a persona: open, list, history, send (the reply streams or comes whole), stop. */
import { z } from "zod";
import { StreamError } from "./errors.ts";
import { operation } from "./operation.ts";
import { ChatId, CURSOR, MessageId, named, NextCursor, PageQuery, PersonaId, Timestamp, Usage } from "./schemas.ts";

export const Chat = named(
  "Chat",
  z.strictObject({
    chat_id: ChatId,
    persona_id: PersonaId.nullable().describe("Null once the persona was deleted."),
    read_only: z.boolean().describe("The persona was deleted: the history stays readable, new messages are 409 `persona_deleted`."),
    title: z.string(),
    created_at: Timestamp,
    updated_at: Timestamp,
    generating: z.boolean().describe("A reply is being generated right now."),
  }),
);
export type Chat = z.infer<typeof Chat>;

export const Message = named(
  "Message",
  z.strictObject({
    message_id: MessageId,
    role: z.enum(["user", "model"]),
    text: z.string(),
    status: z
      .enum(["complete", "generating", "interrupted", "failed"])
      .describe("`interrupted`: stopped or cut off, with the text so far."),
    created_at: Timestamp,
    usage: Usage.optional(),
    feedback: z.enum(["up", "down"]).optional().describe("The owner's thumbs up or down on a reply."),
    greeting: z.literal(true).optional().describe("The persona's greeting that opens the chat (the model did not write it)."),
    alternate: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("On a regenerated reply: which alternate is shown (0: the first answer); `text`, `status`, `usage` are its."),
    alternates: z.number().int().min(2).optional().describe("On a regenerated reply: how many alternates it has (one may be generating)."),
    edited: z.literal(true).optional().describe("A user message whose text was edited (`PUT …/messages/{message_id}`)."),
  }),
);
export type Message = z.infer<typeof Message>;

export const ChatPage = named("ChatPage", z.strictObject({ chats: z.array(Chat), next_cursor: NextCursor }), "Newest first.");
export const MessagePage = named(
  "MessagePage",
  z.strictObject({ messages: z.array(Message), next_cursor: NextCursor }),
  "Always in chronological order; `next_cursor` continues in the direction asked for.",
);

export const OpenChat = named(
  "OpenChat",
  z.strictObject({
    persona_id: z.string().min(1).max(64).optional().describe("A public persona's id, or `me` (the default): the caller's own."),
  }),
);
export const SendMessage = named("SendMessage", z.strictObject({ text: z.string() }), "At most CHAT_MESSAGE_MAX_CHARS after trimming.");

export const TurnResult = named(
  "TurnResult",
  z.strictObject({ chat_id: ChatId, user_message_id: MessageId, reply: Message }),
  "A finished turn: the stored message's id and the reply as stored.",
);
export type TurnResult = z.infer<typeof TurnResult>;

export const RenameChat = named("RenameChat", z.strictObject({ title: z.string().trim().min(1).max(120) }), "The chat's new title.");
export const ChatDeleted = named(
  "ChatDeleted",
  z.strictObject({ chat_id: ChatId, deleted: z.literal(true) }),
  "The chat is gone; its messages are being removed.",
);
export const Feedback = named(
  "Feedback",
  z.strictObject({ rating: z.enum(["up", "down"]).nullable().describe("`null` takes the feedback back.") }),
);
export const FeedbackGiven = named("FeedbackGiven", z.strictObject({ reply_id: MessageId, rating: z.enum(["up", "down"]).nullable() }));

export const Stopping = named("Stopping", z.strictObject({ reply_id: MessageId, stopping: z.literal(true) }));

/** The chat events of DESIGN §5, in order: message, token…, stored, done; `error` replaces stored/done. */
export const CHAT_EVENTS = {
  message: named(
    "TurnBegun",
    z.strictObject({
      user_message_id: MessageId,
      reply_id: MessageId,
      alternate: z.number().int().min(1).optional().describe("A regenerated alternate's number (absent for a reply's first answer)."),
    }),
    "Both ids, before any token.",
  ),
  token: named("Token", z.strictObject({ text: z.string() })),
  stored: named(
    "ReplyStored",
    z.strictObject({ reply_id: MessageId, status: z.enum(["complete", "interrupted", "failed"]) }),
    "How the reply was stored.",
  ),
  done: named("TurnDone", z.strictObject({ usage: Usage })),
  error: StreamError,
};
const CHAT_EVENTS_DESCRIPTION =
  "`message`, then `token`s, then `stored` and `done`; on failure `error` replaces `stored` and `done`. Event ids are the same on every connection: the length of the reply's text the event brings the client to (`message` 0, a token the text up to and including it, `stored` length + 1, `done` length + 2), prefixed `<n>.` for the n-th regenerated alternate. The reply keeps generating if the client leaves; resume it with `GET /v1/chats/{chat_id}/messages/{message_id}/stream`.";

const ChatParams = z.object({ chat_id: ChatId });
export const turnReply = {
  description: "`Accept: text/event-stream`: the reply as it is made (SSE). Otherwise the finished turn as JSON.",
  body: TurnResult,
  events: CHAT_EVENTS,
  eventsDescription: CHAT_EVENTS_DESCRIPTION,
};
export const turnErrors = [
  "empty_message",
  "message_too_long",
  "reply_in_progress",
  "persona_deleted",
  "persona_not_ready",
  "rate_limited",
  "model_refused",
  "model_unavailable",
] as const;

export const chats = {
  open: operation({
    operationId: "openChat",
    method: "POST",
    path: "/v1/chats",
    tag: "chats",
    summary: "A new chat with the caller's own persona or a public one",
    auth: "user",
    body: OpenChat,
    responses: { 201: { description: "Created.", body: Chat, headers: ["location"] } },
    errors: ["not_found", "persona_not_ready", "rate_limited"],
  }),
  list: operation({
    operationId: "listChats",
    method: "GET",
    path: "/v1/chats",
    tag: "chats",
    summary: "The caller's chats, newest first",
    auth: "user",
    query: PageQuery,
    responses: { 200: { description: "A page.", body: ChatPage } },
  }),
  get: operation({
    operationId: "getChat",
    method: "GET",
    path: "/v1/chats/:chat_id",
    tag: "chats",
    summary: "One of the caller's chats",
    description: "Others' chats are 404.",
    auth: "owner",
    params: ChatParams,
    responses: { 200: { description: "The chat.", body: Chat } },
  }),
  rename: operation({
    operationId: "renameChat",
    method: "PUT",
    path: "/v1/chats/:chat_id",
    tag: "chats",
    summary: "Rename one of the caller's chats",
    auth: "owner",
    params: ChatParams,
    body: RenameChat,
    responses: { 200: { description: "The chat, renamed.", body: Chat } },
  }),
  remove: operation({
    operationId: "deleteChat",
    method: "DELETE",
    path: "/v1/chats/:chat_id",
    tag: "chats",
    summary: "Delete one of the caller's chats and all its messages",
    description:
      "The chat is gone at once; its messages are removed before the answer (a long chat's rest right after, in the background). Refused while a reply is being generated in it: stop it first.",
    auth: "owner",
    params: ChatParams,
    responses: { 200: { description: "Deleted.", body: ChatDeleted } },
    errors: ["reply_in_progress"],
  }),
  feedback: operation({
    operationId: "rateReply",
    method: "PUT",
    path: "/v1/chats/:chat_id/messages/:message_id/feedback",
    tag: "chats",
    summary: "Thumbs up or down on a reply",
    description: "Only the chat's owner; only on the persona's replies (a user message is 404). Kept with the reply, shown in history.",
    auth: "owner",
    params: z.object({ chat_id: ChatId, message_id: MessageId }),
    body: Feedback,
    responses: { 200: { description: "The feedback as stored.", body: FeedbackGiven } },
  }),
  history: operation({
    operationId: "listMessages",
    method: "GET",
    path: "/v1/chats/:chat_id/messages",
    tag: "chats",
    summary: "A page of the chat's history",
    description:
      "Without a cursor: the latest page (`direction=older`, the default) or the first (`newer`). With one: the page before it (`older`) or after it (`newer`). Messages are always in chronological order.",
    auth: "owner",
    params: ChatParams,
    query: PageQuery.extend({
      cursor: z.string().regex(CURSOR, "is not a cursor this API gave out").optional().describe("`next_cursor` of the page before."),
      direction: z.enum(["older", "newer"]).default("older").describe("Which way to walk from the cursor."),
    }),
    responses: { 200: { description: "A page.", body: MessagePage } },
  }),
  send: operation({
    operationId: "sendMessage",
    method: "POST",
    path: "/v1/chats/:chat_id/messages",
    tag: "chats",
    summary: "Send a message; the reply streams (SSE) or comes whole (JSON)",
    description: "The message is stored before the model is called; the reply is stored complete, or `interrupted` with its partial text.",
    auth: "owner",
    params: ChatParams,
    body: SendMessage,
    responses: { 200: turnReply },
    errors: turnErrors,
  }),
  stop: operation({
    operationId: "stopReply",
    method: "POST",
    path: "/v1/chats/:chat_id/messages/:message_id/stop",
    tag: "chats",
    summary: "Stop a reply still being generated",
    auth: "owner",
    params: z.object({ chat_id: ChatId, message_id: MessageId }),
    responses: { 202: { description: "The reply will stop; it is stored `interrupted`.", body: Stopping } },
    errors: ["reply_not_generating"],
  }),
  resume: operation({
    operationId: "resumeReply",
    method: "GET",
    path: "/v1/chats/:chat_id/messages/:message_id/stream",
    tag: "chats",
    summary: "Resume a reply: its events after an id, then live until it is stored",
    description:
      "From any tab, device or server: replays the reply's events after `Last-Event-ID` (or `?after=`; the header wins; neither: from its start), then follows it live until `stored` and `done`. A reply whose generator died ends `interrupted` with what it had persisted. Still generating at the stream's maximum life: a `retry` and the end; reconnect with the last id. Without `Accept: text/event-stream`: the reply as it stands.",
    auth: "owner",
    params: z.object({ chat_id: ChatId, message_id: MessageId }),
    query: z.object({
      after: z.string().max(20).optional().describe("Resume after this event id (as `Last-Event-ID` does)."),
    }),
    responses: {
      200: {
        description: "The reply's events after the id (SSE), or the reply as it stands (JSON).",
        body: Message,
        events: CHAT_EVENTS,
        eventsDescription: CHAT_EVENTS_DESCRIPTION,
      },
    },
    errors: ["invalid_event_id", "unknown_event_id"],
  }),
  oneShot: operation({
    operationId: "chatWithMyPersona",
    method: "POST",
    path: "/v1/personas/me/chat",
    tag: "chats",
    summary: "Chat with the caller's own persona in one call",
    description: "Continues one chat kept for this route (listed with the others).",
    auth: "user",
    body: SendMessage,
    responses: { 200: turnReply },
    // No persona at all.
    errors: ["not_found", ...turnErrors],
  }),
};
