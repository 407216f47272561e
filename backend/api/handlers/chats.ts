/** Chat routes: open, list and read chats, page through history, send (the reply streamed or whole), stop. */
import type { z } from "zod";
import type { ChatEvent, ReplyRun } from "../../chats/chats.ts";
import type { Chat as StoredChat, Message as StoredMessage } from "../../chats/store.ts";
import type { Domains } from "../../compose.ts";
import {
  api,
  type Chat,
  type ChatDeleted,
  type FeedbackGiven,
  type ChatPage,
  type Message,
  type MessagePage,
  type Stopping,
  type TurnResult,
} from "../contract/index.ts";
import { MODEL_UNAVAILABLE } from "../domain-errors.ts";
import { HttpError, ServiceUnavailable, UnprocessableEntity } from "../errors.ts";
import { acceptsEventStream, respond, stream, StreamExpired, type Context, type Handler } from "../framework.ts";
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
  ...(m.feedback ? { feedback: m.feedback.rating } : {}),
  ...(m.greeting ? { greeting: true as const } : {}),
  ...alternatesView(m),
  ...(m.editedAt ? { edited: true as const } : {}),
});

/** Which alternate a regenerated reply shows, and how many it has (the one generating counts). */
function alternatesView(m: StoredMessage): { alternate?: number; alternates?: number } {
  const count = Math.max(m.alternates?.length ?? 0, (m.alternate ?? 0) + 1);
  return count > 1 ? { alternate: m.alternate ?? 0, alternates: count } : {};
}

/** A chat event as SSE: its name, its stable id (chats/event-ids.ts), its data as the contract says. */
function sseEvent(event: ChatEvent) {
  return { event: event.type, id: event.id, data: sseData(event) };
}

function sseData(event: ChatEvent) {
  switch (event.type) {
    case "message":
      return {
        user_message_id: event.userMessageId,
        reply_id: event.replyId,
        ...(event.alternate > 0 ? { alternate: event.alternate } : {}),
      };
    case "token":
      return { text: event.text };
    case "stored":
      return { reply_id: event.replyId, status: event.status };
    case "done":
      return { usage: event.usage };
    case "error":
      return { code: event.code, message: event.message };
  }
}

/**
 * A reply's run as SSE. The run goes on without its client (unless
 * CHAT_CONTINUE_AFTER_DISCONNECT=0); at the stream's maximum life it ends like a stop, and
 * the client still gets `stored` (interrupted) and `done`.
 */
function replyStream(run: ReplyRun) {
  return stream(async (sse) => {
    const listener = run.attach();
    let delivered = 0;
    const leave = () => listener.leave(delivered);
    sse.clientGone.addEventListener("abort", leave, { once: true });
    sse.signal.addEventListener("abort", () => !sse.clientGone.aborted && run.expire(), { once: true });
    try {
      for await (const event of listener.events) {
        if (sse.clientGone.aborted) break;
        await sse.send(sseEvent(event));
        if (event.type === "token") delivered = event.end;
      }
    } finally {
      leave();
    }
  });
}

/** A stream's `error` event as the error a JSON reply carries: the same code, its one status. */
function turnError(event: Extract<ChatEvent, { type: "error" }>): Error {
  if (event.code === "model_refused") return new UnprocessableEntity(event.message, "model_refused");
  if (event.code === MODEL_UNAVAILABLE) return new ServiceUnavailable(event.message, 10, MODEL_UNAVAILABLE);
  if (event.code === "service_unavailable") return new ServiceUnavailable(event.message);
  return new HttpError(500, "internal_error", event.message);
}

/** The whole turn, for a client that did not ask for a stream: the reply as it was stored. */
async function finishedTurn(run: ReplyRun, signal: AbortSignal): Promise<TurnResult> {
  let text = "";
  const { turn } = run;
  const reply = { ...messageView(turn.reply) };
  const listener = run.attach();
  const leave = () => listener.leave(text.length);
  signal.addEventListener("abort", leave, { once: true });
  try {
    for await (const event of listener.events) {
      if (event.type === "token") text += event.text;
      else if (event.type === "stored") reply.status = event.status;
      else if (event.type === "done") reply.usage = event.usage;
      else if (event.type === "error") throw turnError(event);
    }
  } finally {
    leave();
  }
  return { chat_id: turn.chat.chatId, user_message_id: turn.user.messageId, reply: { ...reply, text } };
}

/** Content negotiation, the same on every route that can stream (docs/decisions.md). */
async function replyTo(ctx: Context, run: ReplyRun) {
  return acceptsEventStream(ctx.req) ? replyStream(run) : respond(await finishedTurn(run, ctx.req.signal));
}

export function chatHandlers({ chats, config }: Pick<Domains, "chats" | "config">, callers: Callers, links: Links) {
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

  /** The account check runs beside the chat's first reads (chats.send awaits it before writing): the model is asked sooner. */
  const send: Handler = (ctx) =>
    callers.requiredAlongside(ctx.req, async ({ uid }, cleared) => {
      const { params, body } = await input(ctx, api.chats.send);
      return replyTo(ctx, chats.startReply(await chats.send(uid, params.chat_id, body.text, cleared)));
    });

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
    return replyTo(ctx, chats.startReply(await chats.prepareTurn(chat, body.text)));
  };

  /**
   * Resumes a reply: its events after `Last-Event-ID` (or `?after=`; the header wins), then
   * live until it is stored, from the table (any process). Without `Accept: text/event-stream`:
   * the reply as it stands.
   */
  const resume: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params, query } = await input(ctx, api.chats.resume);
    const chat = await chats.get(uid, params.chat_id);
    const follow = await chats.follow(chat, params.message_id, ctx.req.headers["last-event-id"] ?? query.after);
    if (!acceptsEventStream(ctx.req)) return respond(messageView(follow.reply));
    return stream(async (sse) => {
      for await (const event of follow.events(sse.signal)) await sse.send(sseEvent(event));
      // Out of time with the reply still generating: the client reconnects with its last id.
      if (sse.signal.reason instanceof StreamExpired) await sse.send({ retry: config.chatResumePollMs });
    });
  };

  /** A new alternate of the chat's last reply, streamed or whole like a sent message's reply. */
  const regenerate: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params } = await input(ctx, api.chats.regenerate);
    const chat = await chats.get(uid, params.chat_id);
    return replyTo(ctx, chats.startReply(await chats.regenerate(chat, params.message_id)));
  };

  /** The last user message with a new text; its new reply streamed or whole. */
  const edit: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params, body } = await input(ctx, api.chats.edit);
    const chat = await chats.get(uid, params.chat_id);
    return replyTo(ctx, chats.startReply(await chats.edit(chat, params.message_id, body.text)));
  };

  const selectAlternate: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params, body } = await input(ctx, api.chats.selectAlternate);
    const chat = await chats.get(uid, params.chat_id);
    return respond(messageView(await chats.selectAlternate(chat, params.message_id, body.alternate)));
  };

  const rename: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params, body } = await input(ctx, api.chats.rename);
    return respond(chatView(await chats.rename(uid, params.chat_id, body.title)));
  };

  const remove: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params } = await input(ctx, api.chats.remove);
    await chats.remove(await chats.get(uid, params.chat_id));
    return respond({ chat_id: params.chat_id, deleted: true } satisfies z.output<typeof ChatDeleted>);
  };

  const feedback: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params, body } = await input(ctx, api.chats.feedback);
    await chats.rate(await chats.get(uid, params.chat_id), params.message_id, body.rating);
    return respond({ reply_id: params.message_id, rating: body.rating } satisfies z.output<typeof FeedbackGiven>);
  };

  return { open, list, get, history, send, stop, oneShot, resume, rename, remove, feedback, regenerate, edit, selectAlternate };
}
