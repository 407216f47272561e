/** Chat routes: open and list chats, page through history, send (streamed reply), stop. */
import { z } from "zod";
import { NO_SUCH_CHAT, NO_SUCH_REPLY, type ChatEvent, type Chats, type Turn } from "../../chats/chats.ts";
import type { Chat, Message } from "../../chats/store.ts";
import type { Domains } from "../../compose.ts";
import { ChatId, MessageId } from "../../data/ids.ts";
import { BadRequest, ServiceUnavailable } from "../errors.ts";
import { jsonBody, respond, stream, type Context, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { parse, pathId } from "../validate.ts";

const OpenChat = z.strictObject({ persona_id: z.string().min(1).max(64).optional() });
const SendMessage = z.strictObject({ text: z.string() });
const CURSOR = /^[0-9a-z]{13}[\w-]{8}$/;

const chatView = (c: Chat) => ({
  id: c.chatId,
  /** Null once the persona was deleted: the chat is then read-only. */
  persona_id: c.personaId ?? null,
  read_only: c.closed !== undefined,
  title: c.title,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  generating: c.generating !== undefined,
});
const messageView = (m: Message) => ({
  id: m.messageId,
  role: m.role,
  text: m.text,
  status: m.status,
  created_at: m.createdAt,
  ...(m.usage ? { usage: { input_tokens: m.usage.inputTokens, output_tokens: m.usage.outputTokens } } : {}),
});

function limitOf(ctx: Context): number {
  const raw = ctx.query.get("limit");
  const limit = raw === null ? 50 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new BadRequest("limit must be an integer from 1 to 100", "invalid_limit");
  return limit;
}

function cursorOf(ctx: Context, name: string): string | undefined {
  const value = ctx.query.get(name) ?? undefined;
  if (value !== undefined && !CURSOR.test(value)) throw new BadRequest(`${name} is not a cursor this API gave out`, "invalid_cursor");
  return value;
}

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

export function chatHandlers({ chats }: Pick<Domains, "chats">, callers: Callers) {
  const ownChat = async (ctx: Context): Promise<Chat> => {
    const { uid } = await callers.required(ctx.req);
    return chats.get(uid, pathId(ctx, "id", ChatId, NO_SUCH_CHAT));
  };

  const open: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const input = parse(OpenChat, await jsonBody(ctx));
    const chat = await chats.open(uid, input.persona_id);
    return respond(chatView(chat), { status: 201, headers: { location: `/v1/chats/${chat.chatId}` } });
  };

  const list: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const page = await chats.list(uid, limitOf(ctx), cursorOf(ctx, "cursor"));
    return respond({ chats: page.items.map(chatView), next_cursor: page.next ?? null });
  };

  /** A page in chronological order; `before`/`after` cursors walk older/newer. */
  const history: Handler = async (ctx) => {
    const chat = await ownChat(ctx);
    const before = cursorOf(ctx, "before");
    const after = cursorOf(ctx, "after");
    if (before && after) throw new BadRequest("Use before or after, not both", "invalid_cursor");
    const page = await chats.history(chat, limitOf(ctx), before ? { before } : after ? { after } : {});
    const first = page.items[0]?.messageId ?? null;
    const last = page.items.at(-1)?.messageId ?? null;
    return respond({
      messages: page.items.map(messageView),
      // Older pages exist unless this page reached the start; newer ones unless it is the latest.
      before: after === undefined && !page.more ? null : first,
      after: after !== undefined && !page.more ? null : before === undefined && after === undefined ? null : last,
    });
  };

  const send: Handler = async (ctx) => {
    const chat = await ownChat(ctx);
    const { text } = parse(SendMessage, await jsonBody(ctx));
    return replyStream(chats, await chats.prepareTurn(chat, text));
  };

  const stop: Handler = async (ctx) => {
    const chat = await ownChat(ctx);
    const replyId = pathId(ctx, "mid", MessageId, NO_SUCH_REPLY);
    await chats.stop(chat, replyId);
    return respond({ reply_id: replyId, stopping: true }, { status: 202 });
  };

  /** One-shot chat with one's own persona: SSE when asked for, else the whole reply as JSON. */
  const oneShot: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { text } = parse(SendMessage, await jsonBody(ctx));
    const chat = await chats.selfChat(uid);
    const turn = await chats.prepareTurn(chat, text);
    if ((ctx.req.headers.accept ?? "").includes("text/event-stream")) return replyStream(chats, turn);
    let response = "";
    for await (const event of chats.streamTurn(turn, ctx.req.signal)) {
      if (event.type === "token") response += event.text;
      if (event.type === "error") throw new ServiceUnavailable(event.message, 10);
    }
    return respond({ response, message_id: turn.reply.messageId, chat_id: chat.chatId });
  };

  return { open, list, history, send, stop, oneShot };
}
