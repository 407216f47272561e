/** The last turn of a chat made again: regenerate its reply (alternates), edit its user message, show another alternate. */
import { z } from "zod";
import { Message, SendMessage, turnErrors, turnReply } from "./chats.ts";
import { operation } from "./operation.ts";
import { ChatId, MessageId, named } from "./schemas.ts";

export const SelectAlternate = named(
  "SelectAlternate",
  z.strictObject({ alternate: z.number().int().min(0).max(999).describe("The alternate to show, 0 being the first answer.") }),
);

export const chatRetakes = {
  regenerate: operation({
    operationId: "regenerateReply",
    method: "POST",
    path: "/v1/chats/:chat_id/messages/:message_id/regenerate",
    tag: "chats",
    summary: "Regenerate the chat's last reply: a new alternate, streamed (SSE) or whole (JSON)",
    description:
      "Only the last reply, once it ended (else 409 `not_last_turn`, or `reply_in_progress` while a reply generates; of two concurrent regenerates one wins, the other is 409). Counts as a message for the limits. The new alternate streams like a sent message's reply, its event ids prefixed `<n>.`, and is resumable by the reply's id; the reply keeps every alternate and shows the new one.",
    auth: "owner",
    params: z.object({ chat_id: ChatId, message_id: MessageId }),
    responses: { 200: turnReply },
    errors: ["not_last_turn", "too_many_alternates", ...turnErrors.filter((c) => c !== "empty_message" && c !== "message_too_long")],
  }),
  edit: operation({
    operationId: "editMessage",
    method: "PUT",
    path: "/v1/chats/:chat_id/messages/:message_id",
    tag: "chats",
    summary: "Edit the chat's last user message; its reply is made anew, streamed (SSE) or whole (JSON)",
    description:
      "Only the last user message (else 409 `not_last_turn`): history is append-only apart from the last turn. Its text is replaced and its reply (with its alternates) replaced by a new one, with a new id. Counts as a message for the limits.",
    auth: "owner",
    params: z.object({ chat_id: ChatId, message_id: MessageId }),
    body: SendMessage,
    responses: { 200: turnReply },
    errors: ["not_last_turn", ...turnErrors],
  }),
  selectAlternate: operation({
    operationId: "selectAlternate",
    method: "PUT",
    path: "/v1/chats/:chat_id/messages/:message_id/alternate",
    tag: "chats",
    summary: "Show another alternate of the chat's last reply",
    description: "History then shows that alternate's text. An alternate the reply does not have is 404. Clears the reply's feedback.",
    auth: "owner",
    params: z.object({ chat_id: ChatId, message_id: MessageId }),
    body: SelectAlternate,
    responses: { 200: { description: "The reply, showing the alternate.", body: Message } },
    errors: ["not_last_turn", "reply_in_progress"],
  }),
};
