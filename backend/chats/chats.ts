/**
 * Chatting with a persona, bound to its table, limits, model and the persona domain: which
 * chats a user has, their history, and one turn of a chat.
 *
 * A turn happens in two phases so that refusals are plain HTTP errors and everything after
 * is a stream: `prepareTurn` checks limits and stores the user's message with a `generating`
 * reply (before any model call); `streamTurn` (turn.ts) yields the reply as it is made and
 * always stores how it ended — `complete`, or `interrupted` with exactly the text handed out
 * when the client leaves, the user presses stop or the model breaks mid-way, or `failed`
 * when the model produced nothing.
 */
import type { LLM } from "../ai/ports.ts";
import type { Config } from "../config.ts";
import type { RateLimits } from "../data/rate-limit.ts";
import type { Table } from "../data/table.ts";
import { ConflictError, InvalidInputError, NotFoundError, NotReadyError } from "../errors.ts";
import { withLogContext } from "../log.ts";
import { noMetrics, type Metrics } from "../ports/metrics.ts";
import type { ReadyPersona } from "../personas/model.ts";
import type { Personas } from "../personas/personas.ts";
import { fitHistory, foldSummary, systemWithSummary } from "./context.ts";
import { chatLimits } from "./limits.ts";
import { chatLifecycleStore } from "./lifecycle-store.ts";
import { chatStore, type Chat, type HistoryPosition, type Message, type Page } from "./store.ts";
import { releaseWhenBack, stopLocally, streamTurn, type ChatEvent, type Turn, type TurnDeps } from "./turn.ts";

export type { ChatEvent, Turn } from "./turn.ts";

/** What a request naming a chat (or reply) that does not exist, or not for this caller, is told. */
export const NO_SUCH_CHAT = "No such chat";
export const NO_SUCH_REPLY = "No such reply";

export type ChatSettings = Pick<
  Config,
  | "chatMessagesPerMinute"
  | "chatDailyTokenBudget"
  | "chatMessageMaxChars"
  | "chatContextTokens"
  | "chatMaxOutputTokens"
  | "chatStopPollMs"
  | "chatsPerHour"
>;

/** @example const chats = chatsOn(table, limits, llm, personas, config, metrics); */
export function chatsOn(
  table: Table,
  limits: RateLimits,
  llm: LLM,
  personas: Pick<Personas, "visibleTo">,
  settings: ChatSettings,
  metrics: Metrics = noMetrics,
) {
  const store = chatStore(table);
  const life = chatLifecycleStore(table);
  const budget = chatLimits(limits, { messagesPerMinute: settings.chatMessagesPerMinute, dailyTokenBudget: settings.chatDailyTokenBudget });
  const turns: TurnDeps = {
    store,
    budget,
    llm,
    maxOutputTokens: settings.chatMaxOutputTokens,
    stopPollMs: settings.chatStopPollMs,
    metrics,
  };

  /** A persona the caller may chat with: their own once ready, or someone's public one. Else 404. */
  async function chattable(callerUid: string, personaId = "me"): Promise<ReadyPersona> {
    const persona = await personas.visibleTo(callerUid, personaId);
    if (!persona.current) throw new NotReadyError("The persona is not ready yet", "persona_not_ready");
    return persona as ReadyPersona;
  }

  async function open(uid: string, personaId?: string): Promise<Chat> {
    const persona = await chattable(uid, personaId);
    const limit = limits.increment(
      { scope: "chat-create", name: "chats_per_hour", limit: settings.chatsPerHour, windowSeconds: 3600 },
      { user: uid },
    );
    const chat = await store.create(uid, { personaId: persona.personaId, uid: persona.uid, name: persona.current.card.name }, limit);
    if (chat === "limited") throw limit!.refused();
    return chat;
  }

  return {
    /** A new chat with any persona the caller may use (their own when none is named). */
    open,

    /** The chat the one-shot endpoint continues: made on first use, then always the same. */
    async selfChat(uid: string): Promise<Chat> {
      for (;;) {
        const chatId = await store.selfChatId(uid);
        const existing = chatId ? await store.find(uid, chatId) : undefined;
        if (existing) return existing;
        const chat = await open(uid);
        // A concurrent first call may have won: then use its chat (ours stays as an empty chat in the list).
        if (await store.claimSelfChat(uid, chat.chatId)) return chat;
      }
    },

    /** The caller's chat; NotFoundError for others' chats, which do not exist for them. */
    async get(uid: string, chatId: string): Promise<Chat> {
      const chat = await store.find(uid, chatId);
      if (!chat) throw new NotFoundError(NO_SUCH_CHAT);
      return chat;
    },

    /** Newest first. */
    list: (uid: string, limit: number, cursor?: string): Promise<Page<Chat>> => store.list(uid, limit, cursor),

    /**
     * A page of history in chronological order, walking `older` or `newer` from the cursor
     * (without one: the latest page, or the first). `next` continues the walk; undefined at its end.
     */
    async history(chat: Chat, limit: number, at: HistoryPosition): Promise<Page<Message>> {
      const page = await store.messages(chat.chatId, limit, at);
      const edge = at.direction === "older" ? page.items[0] : page.items.at(-1);
      return { items: page.items, next: page.more && edge ? edge.messageId : undefined };
    },

    /** Checks and stores the user's message, with the reply's placeholder; the model is not called yet. */
    async prepareTurn(chat: Chat, text: string): Promise<Turn> {
      const trimmed = text.trim();
      if (trimmed === "") throw new InvalidInputError("The message is empty", "empty_message");
      if (trimmed.length > settings.chatMessageMaxChars)
        throw new InvalidInputError(`Messages are limited to ${settings.chatMessageMaxChars} characters`, "message_too_long");
      if (chat.closed || chat.personaId === undefined)
        throw new ConflictError("This chat's persona was deleted; its history stays readable", "persona_deleted");
      await budget.admit(chat.uid);
      const persona = await chattable(chat.uid, chat.personaId);
      const begun = await store.beginTurn(chat, trimmed);
      if (!begun) throw new ConflictError("A reply is already being generated in this chat", "reply_in_progress");
      const { user, reply } = begun;
      try {
        // History after the summary, oldest first; the reply placeholder is not history.
        const recent = await store.messages(
          chat.chatId,
          200,
          chat.summaryThrough ? { direction: "newer", cursor: chat.summaryThrough } : { direction: "older" },
        );
        const history = recent.items.filter((m: Message) => m.messageId !== reply.messageId);
        const window = fitHistory(history, settings.chatContextTokens);
        let summary = chat.summary;
        if (window.overflow.length > 0) {
          const folded = await foldSummary(llm, chat.summary, window.overflow);
          summary = folded.summary;
          await store.saveSummary(chat, summary, window.overflow.at(-1)!.messageId);
          // The summary's model call is the user's, like the reply's.
          await budget.charge(chat.uid, folded.usage.inputTokens + folded.usage.outputTokens);
        }
        return { chat, user, reply, system: systemWithSummary(persona.current.systemPrompt, summary), turns: window.turns };
      } catch (error) {
        // The turn began (the user's message is kept) but cannot go on: its reply is marked
        // failed and the chat unlocked, now or once the table is back, not after the lock expires.
        withLogContext({ chat_id: chat.chatId, reply_id: reply.messageId }, () =>
          releaseWhenBack(() => store.finishTurn(chat, reply, { text: "", status: "failed" })),
        );
        throw error;
      }
    },

    /** The reply as it is made, ending with how it was stored (turn.ts). */
    streamTurn: (turn: Turn, signal: AbortSignal): AsyncGenerator<ChatEvent> => streamTurn(turns, turn, signal),

    /** Every chat of `uid` with its messages, page by page, oldest first (an export). */
    async *exportOf(uid: string): AsyncGenerator<{ chat: Chat; messages: AsyncGenerator<Message[]> }> {
      for (const chat of await life.all(uid)) {
        yield {
          chat,
          messages: (async function* () {
            let cursor: string | undefined;
            do {
              const page = await life.messagesAfter(chat.chatId, 100, cursor);
              if (page.items.length > 0) yield page.items;
              cursor = page.next;
            } while (cursor !== undefined);
          })(),
        };
      }
    },

    /** Up to `limit` items of the user's own chats removed (lifecycle); `done` when none is left. */
    forgetChatsOf: (uid: string, limit: number) => life.forgetChatsOf(uid, limit),

    /** The persona of `personaUid` (`personaId` only, when given) was deleted: chats with it become read-only (lifecycle). */
    closeChatsWith: (personaUid: string, limit: number, personaId?: string) => life.closeChatsWith(personaUid, limit, personaId),

    /** Asks a generating reply to stop, from any process; this process halts it at once. */
    async stop(chat: Chat, replyId: string): Promise<void> {
      const outcome = await store.requestStop(chat.chatId, replyId);
      if (outcome === "no_such_reply") throw new NotFoundError(NO_SUCH_REPLY);
      if (outcome === "not_generating") throw new ConflictError("That reply is not being generated", "reply_not_generating");
      metrics.record("ChatStops");
      stopLocally(replyId);
    },
  };
}

export type Chats = ReturnType<typeof chatsOn>;
