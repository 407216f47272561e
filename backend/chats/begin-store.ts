/**
 * A turn's beginning on the table: the user's message, the reply's `generating` placeholder
 * and the chat's reply lock, in one transaction, so the message is stored before any model
 * call. A send also lets the message counter and the persona's conditions ride in it
 * (`openTurn`): one write, and nothing written when any of them refuses.
 */
import { keys } from "../data/keys.ts";
import { cancellationReasons, type Table, type TableWrite } from "../data/table.ts";
import { timeOrderedId } from "./ids.ts";
import type { Chat, Message } from "./model.ts";

/** A reply lock older than this is abandoned (its process died) and may be taken over. */
export const LOCK_MS = 5 * 60_000;

/** A new reply to `userMessageId`, empty and `generating` under a lease from `now`. */
export function generatingReply(chatId: string, userMessageId: string, leaseMs: number, now: Date): Message {
  return {
    messageId: timeOrderedId(now.getTime()),
    chatId,
    role: "model",
    text: "",
    status: "generating",
    createdAt: now.toISOString(),
    leaseUntil: now.getTime() + leaseMs,
    inReplyTo: userMessageId,
  };
}

/** The two messages a turn adds. */
export interface NewTurn {
  user: Message;
  reply: Message;
}

/** What refused a turn's transaction: the chat's lock, the message counter, or a rider's condition (the persona's). */
export type TurnRefusal = "locked" | "limited" | "refused";

/** The user's message and the reply's placeholder, with their ids, before anything is written. */
export function newTurn(chat: Chat, text: string, leaseMs: number, now = new Date()): NewTurn {
  const user: Message = {
    messageId: timeOrderedId(now.getTime()),
    chatId: chat.chatId,
    role: "user",
    text,
    status: "complete",
    createdAt: now.toISOString(),
  };
  return { user, reply: generatingReply(chat.chatId, user.messageId, leaseMs, now) };
}

export function beginStore(table: Table) {
  /**
   * Writes `turn` and takes the chat's reply lock, with `counter` (the messages-per-minute
   * increment) and `conditions` (that the persona may still be chatted with) in the same
   * transaction. "begun", or what refused it; when several refuse, the counter first, then
   * a condition, then the lock (the order a user was told before).
   */
  async function openTurn(chat: Chat, turn: NewTurn, riders: { counter?: TableWrite; conditions?: TableWrite[] } = {}) {
    const now = turn.user.createdAt;
    const { counter, conditions = [] } = riders;
    try {
      await table.transact([
        {
          Update: {
            Key: keys.chat(chat.uid, chat.chatId),
            UpdateExpression: "SET generating = :lock, updatedAt = :now, lastTurn = :turn",
            ConditionExpression: "attribute_exists(PK) AND (attribute_not_exists(generating) OR generating.expiresAt < :now)",
            ExpressionAttributeValues: {
              ":lock": { replyId: turn.reply.messageId, expiresAt: new Date(Date.parse(now) + LOCK_MS).toISOString() },
              ":now": now,
              ":turn": { userId: turn.user.messageId, replyId: turn.reply.messageId },
            },
          },
        },
        {
          Put: {
            Item: { ...keys.message(chat.chatId, turn.user.messageId), ...turn.user },
            ConditionExpression: "attribute_not_exists(PK)",
          },
        },
        {
          Put: {
            Item: { ...keys.message(chat.chatId, turn.reply.messageId), ...turn.reply },
            ConditionExpression: "attribute_not_exists(PK)",
          },
        },
        ...conditions,
        ...(counter ? [counter] : []),
      ]);
      return "begun" as const;
    } catch (error) {
      const reasons = cancellationReasons(error)?.map((r) => r.code === "ConditionalCheckFailed");
      if (!reasons) throw error;
      if (counter && reasons.at(-1)) return "limited" satisfies TurnRefusal;
      if (reasons.slice(3, 3 + conditions.length).some(Boolean)) return "refused" satisfies TurnRefusal;
      if (reasons[0]) return "locked" satisfies TurnRefusal;
      throw error;
    }
  }

  return {
    openTurn,

    /**
     * Stores the user's message and a `generating` reply placeholder, and takes the chat's
     * reply lock, in one transaction. `undefined` when another reply holds the lock.
     */
    async beginTurn(chat: Chat, text: string, leaseMs: number, now = new Date()): Promise<NewTurn | undefined> {
      const turn = newTurn(chat, text, leaseMs, now);
      return (await openTurn(chat, turn)) === "begun" ? turn : undefined;
    },
  };
}
