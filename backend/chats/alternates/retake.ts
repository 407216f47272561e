/**
 * The last turn made again: regenerate its reply (a new alternate, like character chat's
 * "swipes"), edit its user message (the reply made anew), or show another alternate. History
 * stays append-only apart from the last turn: anything earlier is 409 `not_last_turn`. A
 * retake is a turn for the limits (messages per minute, counted in its transaction; the token budget) and for the lock
 * (one reply at a time per chat: 409 `reply_in_progress`), and its reply is a run like any.
 */
import type { Increment } from "../../data/rate-limit.ts";
import { ConflictError, NotFoundError } from "../../errors.ts";
import type { ReadyPersona } from "../../personas/model.ts";
import { generatingReply } from "../begin-store.ts";
import { endIfBegun } from "../begin.ts";
import { NO_SUCH_REPLY } from "../follow.ts";
import type { Chat, Message } from "../model.ts";
import type { ChatStore } from "../store.ts";
import type { Turn } from "../turn.ts";
import type { AlternatesStore, Refusal } from "./store.ts";

export interface RetakeDeps {
  store: ChatStore;
  alternates: AlternatesStore;
  checkedText(text: string): string;
  /** The persona and the message counter's increment (it rides in the retake's transaction). */
  admit(chat: Chat): Promise<{ persona: ReadyPersona; counter?: Increment }>;
  turnOf(chat: Chat, persona: ReadyPersona, user: Message, reply: Message): Promise<Turn>;
  leaseMs: number;
}

/** Alternates a reply keeps at most: they share its item's 400 KB (docs/data-model.md). */
export const MAX_ALTERNATES = 25;

const notLast = () => new ConflictError("Only the chat's last turn can be regenerated or edited", "not_last_turn");
const busy = () => new ConflictError("A reply is already being generated in this chat", "reply_in_progress");

function refused(refusal: Refusal, counter: Increment | undefined): Error {
  if (refusal === "limited") return counter!.refused();
  return refusal === "busy" ? busy() : notLast();
}

export function retakesOf(deps: RetakeDeps) {
  const { store, alternates } = deps;

  /** The chat's last message (and the one before), newest last. */
  async function lastTwo(chat: Chat): Promise<Message[]> {
    return (await store.messages(chat.chatId, 2, { direction: "older" })).items;
  }

  /** A reply of the chat that is its last turn's and has ended; else NotFound or Conflict. */
  async function lastReply(chat: Chat, replyId: string): Promise<Message> {
    const reply = await store.message(chat.chatId, replyId);
    if (!reply) throw new NotFoundError(NO_SUCH_REPLY);
    const last = (await lastTwo(chat)).at(-1);
    const isLast = reply.role === "model" && !reply.greeting && last?.messageId === replyId;
    if (!isLast || (chat.lastTurn && chat.lastTurn.replyId !== replyId)) throw notLast();
    if (reply.status === "generating") throw busy();
    return reply;
  }

  return {
    /** A new alternate of the chat's last reply, generated like a reply (startReply). */
    async regenerate(chat: Chat, replyId: string): Promise<Turn> {
      const reply = await lastReply(chat, replyId);
      // Answers so far (a reply never regenerated has one); the new alternate is numbered after them.
      const count = reply.alternates?.length ?? 1;
      if (count >= MAX_ALTERNATES) throw new ConflictError(`A reply keeps at most ${MAX_ALTERNATES} alternates`, "too_many_alternates");
      const { persona, counter } = await deps.admit(chat);
      const user = reply.inReplyTo ? await store.message(chat.chatId, reply.inReplyTo) : (await lastTwo(chat)).at(-2);
      if (user?.role !== "user") throw notLast();
      // The reply as the transaction writes it: a timed-out one may have been written (endIfBegun).
      const begun = await alternates.beginRegenerate(chat, reply, deps.leaseMs, counter?.write).catch((error: unknown) => {
        endIfBegun(store, chat, { ...reply, alternate: count }, error);
        throw error;
      });
      if (typeof begun === "string") throw refused(begun, counter);
      return deps.turnOf(chat, persona, user, begun);
    },

    /** The chat's last user message with a new text, and its reply made anew (startReply). */
    async edit(chat: Chat, messageId: string, text: string): Promise<Turn> {
      const trimmed = deps.checkedText(text);
      const user = await store.message(chat.chatId, messageId);
      if (!user) throw new NotFoundError("No such message");
      const [before, last] = await lastTwo(chat);
      // The last turn: its user message, then (normally) its reply.
      const previous = last?.messageId === messageId ? undefined : last;
      const isLast =
        user.role === "user" &&
        (previous ? before?.messageId === messageId && previous.role === "model" : last?.messageId === messageId) &&
        (!chat.lastTurn || chat.lastTurn.userId === messageId);
      if (!isLast) throw notLast();
      if (previous?.status === "generating") throw busy();
      const { persona, counter } = await deps.admit(chat);
      const reply = generatingReply(chat.chatId, user.messageId, deps.leaseMs, new Date());
      const begun = await alternates.beginEdit(chat, user, previous, trimmed, reply, counter?.write).catch((error: unknown) => {
        endIfBegun(store, chat, reply, error);
        throw error;
      });
      if (typeof begun === "string") throw refused(begun, counter);
      return deps.turnOf(chat, persona, begun.user, begun.reply);
    },

    /** Shows alternate `n` (0: the first answer) of the chat's last reply. */
    async selectAlternate(chat: Chat, replyId: string, n: number): Promise<Message> {
      const reply = await lastReply(chat, replyId);
      if (n >= (reply.alternates?.length ?? 1)) throw new NotFoundError("No such alternate");
      // A reply never regenerated shows its only answer already.
      if (!reply.alternates) return reply;
      const shown = await alternates.select(chat.chatId, reply, n);
      if (!shown) throw busy();
      return shown;
    },
  };
}
