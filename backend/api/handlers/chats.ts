/** Chat routes: open, list and read chats, page through history, send (the reply streamed or whole), stop. */
import type { z } from "zod";
import type { ChatEvent, Chats, Turn } from "../../chats/chats.ts";
import type { Chat as StoredChat, Message as StoredMessage } from "../../chats/store.ts";
import type { Domains } from "../../compose.ts";
import { api, type Chat, type ChatPage, type Message, type MessagePage, type Stopping, type TurnResult } from "../contract/index.ts";
import { MODEL_UNAVAILABLE } from "../domain-errors.ts";
import { HttpError, ServiceUnavailable, UnprocessableEntity } from "../errors.ts";
import { acceptsEventStream, respond, stream, type Context, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { input } from "./input.ts";
import type { Links } from "./links.ts";

const chatView = (c: StoredChat): Chat => ({
  chat_id: c.chatId,
  // Null once the persona was deleted: the chat is then read-only.
  persona_id: c.personaId ?? null,
  read_only: c.closed !== undefined,
  title: c.title,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  generating: c.generating !== undefined,
});

const usageView = (u: { inputTokens: number; outputTokens: number }) => ({ input_tokens: u.inputTokens, output_tokens: u.outputTokens });

const messageView = (m: StoredMessage): Message => ({
  message_id: m.messageId,
  role: m.role,
  text: m.text,
  status: m.status,
  created_at: m.createdAt,
  ...(m.usage ? { usage: usageView(m.usage) } : {}),
});

/**
 * Chat events as SSE: ids count up within the reply; the stream ends after done/error. At
 * the stream's maximum life the model call is aborted like a stop (generation cannot outlive
 * the function), and the client still gets `stored` (interrupted) and `done`.
 */
function replyStream(chats: Chats, turn: Turn) {
  return stream(async (sse) => {
    let id = 0;
    for await (const event of chats.streamTurn(turn, sse.signal)) {
      // Not once the stream expired: the last events tell the client how the reply ended.
      if (sse.clientGone.aborted) break;
      const { type, ...data } = event;
      await sse.send({ event: type, id: String(++id), data: sseData(event, data) });
    }
  });
}

function sseData(event: ChatEvent, data: Record<string, unknown>) {
  if (event.type === "message") return { user_message_id: event.userMessageId, reply_id: event.replyId };
  if (event.type === "stored") return { reply_id: event.replyId, status: event.status };
  return data;
}

/** A stream's `error` event as the error a JSON reply carries: the same code, its one status. */
function turnError(event: Extract<ChatEvent, { type: "error" }>): Error {
  if (event.code === "model_refused") return new UnprocessableEntity(event.message, "model_refused");
  if (event.code === MODEL_UNAVAILABLE) return new ServiceUnavailable(event.message, 10, MODEL_UNAVAILABLE);
  if (event.code === "service_unavailable") return new ServiceUnavailable(event.message);
  return new HttpError(500, "internal_error", event.message);
}

/** The whole turn, for a client that did not ask for a stream: the reply as it was stored. */
async function finishedTurn(chats: Chats, turn: Turn, signal: AbortSignal): Promise<TurnResult> {
  let text = "";
  const reply = { ...messageView(turn.reply) };
  for await (const event of chats.streamTurn(turn, signal)) {
    if (event.type === "token") text += event.text;
    else if (event.type === "stored") reply.status = event.status;
    else if (event.type === "done") reply.usage = event.usage;
    else if (event.type === "error") throw turnError(event);
  }
  return { chat_id: turn.chat.chatId, user_message_id: turn.user.messageId, reply: { ...reply, text } };
}

/** Content negotiation, the same on every route that can stream (docs/decisions.md). */
async function replyTo(ctx: Context, chats: Chats, turn: Turn) {
  return acceptsEventStream(ctx.req) ? replyStream(chats, turn) : respond(await finishedTurn(chats, turn, ctx.req.signal));
}

export function chatHandlers({ chats }: Pick<Domains, "chats">, callers: Callers, links: Links) {
  const open: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { body } = await input(ctx, api.chats.open);
    const chat = await chats.open(uid, body.persona_id);
    return respond(chatView(chat), { status: 201, headers: { location: links.api(`/v1/chats/${chat.chatId}`) } });
  };

  const list: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { query } = await input(ctx, api.chats.list);
    const page = await chats.list(uid, query.limit, query.cursor);
    return respond({ chats: page.items.map(chatView), next_cursor: page.next ?? null } satisfies z.output<typeof ChatPage>);
  };

  const get: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params } = await input(ctx, api.chats.get);
    return respond(chatView(await chats.get(uid, params.chat_id)));
  };

  /** A page in chronological order, walking older (the default) or newer from the cursor. */
  const history: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params, query } = await input(ctx, api.chats.history);
    const chat = await chats.get(uid, params.chat_id);
    const page = await chats.history(chat, query.limit, { direction: query.direction, cursor: query.cursor });
    return respond({ messages: page.items.map(messageView), next_cursor: page.next ?? null } satisfies z.output<typeof MessagePage>);
  };

  const send: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params, body } = await input(ctx, api.chats.send);
    const chat = await chats.get(uid, params.chat_id);
    return replyTo(ctx, chats, await chats.prepareTurn(chat, body.text));
  };

  const stop: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params } = await input(ctx, api.chats.stop);
    await chats.stop(await chats.get(uid, params.chat_id), params.message_id);
    return respond({ reply_id: params.message_id, stopping: true } satisfies z.output<typeof Stopping>, { status: 202 });
  };

  /** One-shot chat with one's own persona: continues the chat kept for this route. */
  const oneShot: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { body } = await input(ctx, api.chats.oneShot);
    const chat = await chats.selfChat(uid);
    return replyTo(ctx, chats, await chats.prepareTurn(chat, body.text));
  };

  return { open, list, get, history, send, stop, oneShot };
}
