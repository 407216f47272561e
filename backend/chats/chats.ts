/**
 * Chatting with a persona, bound to its table, limits, model and the persona domain: which
 * chats a user has, their history, and one turn of a chat.
 *
 * A turn happens in two phases so that refusals are plain HTTP errors and everything after
 * is a stream: `send` (begin.ts) checks limits and stores the user's message with a `generating`
 * reply (before any model call); `startReply` (turn.ts) generates it, on its own, and always
 * stores how it ended — `complete`, or `interrupted` when the user presses stop, time runs
 * out or the model breaks mid-way, or `failed` when the model produced nothing. Its client
 * may leave and come back: `follow` (follow.ts) resumes it from the table, anywhere.
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
import { turnBeginnings } from "./begin.ts";
import { NO_SUCH_REPLY, openFollow, type Follow, type FollowDeps } from "./follow.ts";
import { chatLimits } from "./limits.ts";
import { chatLifecycleStore } from "./lifecycle-store.ts";
import { manageStore, type Rating } from "./manage/store.ts";
import { progressStore } from "./progress/store.ts";
import { alternatesStore } from "./alternates/store.ts";
import { retakesOf } from "./alternates/retake.ts";
import { chatStore, type Chat, type HistoryPosition, type Message, type Page } from "./store.ts";
import { releaseWhenBack, ReplyRun, stopLocally, type Turn, type TurnDeps } from "./turn.ts";

export type { ChatEvent, Listener, ReplyRun, Turn } from "./turn.ts";
export type { Follow } from "./follow.ts";
export { NO_SUCH_REPLY } from "./follow.ts";

/** What a request naming a chat that does not exist, or not for this caller, is told. */
export const NO_SUCH_CHAT = "No such chat";

export type ChatSettings = Pick<
  Config,
  | "chatMessagesPerMinute"
  | "chatDailyTokenBudget"
  | "chatMessageMaxChars"
  | "chatContextTokens"
  | "chatMaxOutputTokens"
  | "chatStopPollMs"
  | "chatContinueAfterDisconnect"
  | "chatLeaseMs"
  | "chatProgressIntervalMs"
  | "chatResumePollMs"
  | "sseMaxLifeMs"
  | "chatDeleteInlineMs"
  | "chatsPerHour"
>;

/** A connected stream ends by its maximum life; its run's lease covers that and the time to store the ending. */
const STORE_GRACE_MS = 15_000;

/** @example const chats = chatsOn(table, limits, llm, personas, config, metrics); */
export function chatsOn(
  table: Table,
  limits: RateLimits,
  llm: LLM,
  personas: Pick<Personas, "visibleTo" | "visibleAt" | "stillChattable">,
  settings: ChatSettings,
  metrics: Metrics = noMetrics,
) {
  const store = chatStore(table);
  const life = chatLifecycleStore(table);
  const budget = chatLimits(limits, { messagesPerMinute: settings.chatMessagesPerMinute, dailyTokenBudget: settings.chatDailyTokenBudget });
  const progress = progressStore(table);
  const manage = manageStore(table);
  const turns: TurnDeps = {
    store,
    progress,
    budget,
    llm,
    maxOutputTokens: settings.chatMaxOutputTokens,
    stopPollMs: settings.chatStopPollMs,
    maxLifeMs: settings.sseMaxLifeMs,
    continueAfterDisconnect: settings.chatContinueAfterDisconnect,
    leaseMs: settings.chatLeaseMs,
    progressIntervalMs: settings.chatProgressIntervalMs,
    metrics,
  };
  const followers: FollowDeps = { store, progress, leaseMs: settings.chatLeaseMs, pollMs: settings.chatResumePollMs };
  const connectedLeaseMs = settings.sseMaxLifeMs + STORE_GRACE_MS + settings.chatLeaseMs;

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
    const chat = await store.create(
      uid,
      { personaId: persona.personaId, uid: persona.uid, name: persona.current.card.name, greeting: persona.current.card.greeting },
      limit,
    );
    if (chat === "limited") throw limit!.refused();
    return chat;
  }

  /** A message's text as stored: trimmed, not empty, within CHAT_MESSAGE_MAX_CHARS. */
  function checkedText(text: string): string {
    const trimmed = text.trim();
    if (trimmed === "") throw new InvalidInputError("The message is empty", "empty_message");
    if (trimmed.length > settings.chatMessageMaxChars)
      throw new InvalidInputError(`Messages are limited to ${settings.chatMessageMaxChars} characters`, "message_too_long");
    return trimmed;
  }

  const beginnings = turnBeginnings({
    store,
    budget,
    llm,
    personas,
    contextTokens: settings.chatContextTokens,
    leaseMs: connectedLeaseMs,
  });
  const retakes = retakesOf({
    store,
    alternates: alternatesStore(table),
    checkedText,
    admit: beginnings.admit,
    turnOf: beginnings.retakeOf,
    leaseMs: connectedLeaseMs,
  });

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

    /**
     * By last activity, newest first. A user's chats are read whole and sorted here: an index
     * on activity would be rewritten by every turn (docs/decisions.md). `cursor`: the last
     * chat id of the page before.
     */
    async list(uid: string, limit: number, cursor?: string): Promise<Page<Chat>> {
      const all = (await manage.allChats(uid)).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.chatId.localeCompare(a.chatId));
      const start = cursor === undefined ? 0 : all.findIndex((c) => c.chatId === cursor) + 1;
      const items = all.slice(start, start + limit);
      return { items, next: start + limit < all.length && items.length ? items.at(-1)!.chatId : undefined };
    },

    /** A new title for the caller's chat. */
    async rename(uid: string, chatId: string, title: string): Promise<Chat> {
      const chat = await manage.rename(uid, chatId, title.trim());
      if (!chat) throw new NotFoundError(NO_SUCH_CHAT);
      return chat;
    },

    /**
     * Deletes the caller's chat: gone from its list at once; its messages are removed now for
     * a short chat, in the background past `CHAT_DELETE_INLINE_MS`. Refused while a reply is
     * being generated in it (stop it first).
     */
    async remove(chat: Chat): Promise<void> {
      const outcome = await manage.removeChat(chat);
      if (outcome === "gone") throw new NotFoundError(NO_SUCH_CHAT);
      if (outcome === "generating") throw new ConflictError("A reply is being generated in this chat; stop it first", "reply_in_progress");
      const deadline = Date.now() + settings.chatDeleteInlineMs;
      if (await manage.purge(chat.chatId, () => Date.now() > deadline)) return;
      withLogContext({ chat_id: chat.chatId }, () => releaseWhenBack(() => manage.purge(chat.chatId)));
    },

    /** Thumbs up or down (or `null`: none) on a reply of the caller's chat. */
    async rate(chat: Chat, replyId: string, rating: Rating | null): Promise<void> {
      if (!(await manage.setFeedback(chat.chatId, replyId, rating))) throw new NotFoundError(NO_SUCH_REPLY);
    },

    /**
     * A page of history in chronological order, walking `older` or `newer` from the cursor
     * (without one: the latest page, or the first). `next` continues the walk; undefined at its end.
     */
    async history(chat: Chat, limit: number, at: HistoryPosition): Promise<Page<Message>> {
      const page = await store.messages(chat.chatId, limit, at);
      const edge = at.direction === "older" ? page.items[0] : page.items.at(-1);
      return { items: page.items, next: page.more && edge ? edge.messageId : undefined };
    },

    /**
     * A message to the caller's chat `chatId`: checked and stored with the reply's
     * placeholder; the model is not called yet. Two round trips (docs/decisions.md,
     * "Performance round two"): the chat and today's token use, beside `cleared` (starts the
     * caller's account check: nothing is written before it holds); then begin.ts's one.
     */
    async send(uid: string, chatId: string, text: string, cleared: () => Promise<unknown> = async () => {}): Promise<Turn> {
      const trimmed = checkedText(text);
      const [account, chat, budgetLeft] = await Promise.allSettled([cleared(), store.find(uid, chatId), budget.withinBudget(uid)]);
      if (account.status === "rejected") throw account.reason;
      if (chat.status === "rejected") throw chat.reason;
      if (!chat.value) throw new NotFoundError(NO_SUCH_CHAT);
      if (budgetLeft.status === "rejected") throw budgetLeft.reason;
      return beginnings.begin(chat.value, trimmed);
    },

    /** The same for a chat already read (the one-shot route's). */
    async prepareTurn(chat: Chat, text: string): Promise<Turn> {
      const trimmed = checkedText(text);
      await budget.withinBudget(chat.uid);
      return beginnings.begin(chat, trimmed);
    },

    /** Regenerate the last reply, edit the last user message, show another alternate (alternates/retake.ts). */
    ...retakes,

    /** Starts generating the reply; listeners attach to the run (turn.ts). */
    startReply: (turn: Turn): ReplyRun => new ReplyRun(turns, turn),

    /** A reply of the caller's chat to resume after `lastEventId` (NotFound, or InvalidInput for a bad id). */
    follow: (chat: Chat, replyId: string, lastEventId: string | undefined): Promise<Follow> =>
      openFollow(followers, chat, replyId, lastEventId),

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
