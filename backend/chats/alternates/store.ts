/**
 * The last turn of a chat made again, on the table: regenerate (a new alternate of the reply,
 * kept on the reply item with the others), edit (the user's last message replaced and its
 * reply made anew), and the choice of the alternate shown. Each begins like a turn, by taking
 * the chat's reply lock in the same transaction, on the condition that the turn named is still
 * the chat's last (`lastTurn` on the chat item): of two tabs regenerating at once, one wins.
 * Every expression of it lives here (docs/data-model.md says how alternates are stored).
 */
import { keys } from "../../data/keys.ts";
import { cancellationReasons, isConditionFailed, withoutKeys, type Table, type TableWrite } from "../../data/table.ts";
import type { Alternate, Chat, Message } from "../model.ts";
import { LOCK_MS } from "../store.ts";

/** Why a retake did not begin: the message counter is full, another reply holds the lock, or the turn is no longer the last. */
export type Refusal = "limited" | "busy" | "not_last";

/** An alternate as kept in the list: what the reply showed when it ended. */
const entryOf = (reply: Message): Alternate => ({
  text: reply.text,
  status: reply.status,
  usage: reply.usage ?? { inputTokens: 0, outputTokens: 0 },
});

export function alternatesStore(table: Table) {
  /** The chat's lock for `replyId`, while `lastTurn` is still `turn` (a chat from before lastTurn existed passes). */
  function lockFor(
    chat: Chat,
    last: { field: "userId" | "replyId"; id: string },
    turn: Chat["lastTurn"] | undefined,
    replyId: string,
    now: Date,
  ) {
    const at = now.toISOString();
    return {
      Update: {
        Key: keys.chat(chat.uid, chat.chatId),
        UpdateExpression: `SET generating = :lock, updatedAt = :now${turn ? ", lastTurn = :turn" : ""}`,
        ConditionExpression: `attribute_exists(PK) AND (attribute_not_exists(generating) OR generating.expiresAt < :now) AND (attribute_not_exists(lastTurn) OR lastTurn.${last.field} = :last)`,
        ExpressionAttributeValues: {
          ":lock": { replyId, expiresAt: new Date(now.getTime() + LOCK_MS).toISOString() },
          ":now": at,
          ":last": last.id,
          ...(turn ? { ":turn": turn } : {}),
        },
        // Which condition failed, from the cancellation: the lock, or the last turn.
        ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
      },
    };
  }

  /** The first cancellation reason as a refusal (a full message counter, the last item, first); anything else is rethrown. */
  function refusal(error: unknown, last: { field: "userId" | "replyId"; id: string }, counter?: TableWrite): Refusal | "changed" {
    const reasons = cancellationReasons(error);
    if (!reasons) throw error;
    if (counter && reasons.at(-1)?.code === "ConditionalCheckFailed") return "limited";
    const [chat, ...rest] = reasons;
    if (chat?.code === "ConditionalCheckFailed") {
      const turn = (chat.item as Chat | undefined)?.lastTurn;
      return turn && turn[last.field] !== last.id ? "not_last" : "busy";
    }
    // The chat was free but the message changed meanwhile (another tab's retake ended in between).
    if (rest.some((r) => r.code === "ConditionalCheckFailed")) return "changed";
    throw error;
  }

  return {
    /**
     * Begins a new alternate of `reply` (the chat's last reply, ended): the reply shows an
     * empty `generating` alternate numbered after the others, and the lock is taken. The
     * first regenerate turns the reply's own answer into alternate 0 of the list.
     */
    async beginRegenerate(chat: Chat, reply: Message, leaseMs: number, counter?: TableWrite, now = new Date()): Promise<Message | Refusal> {
      const list = reply.alternates;
      const alternate = list ? list.length : 1;
      const at = now.toISOString();
      const last = { field: "replyId" as const, id: reply.messageId };
      try {
        await table.transact([
          lockFor(chat, last, undefined, reply.messageId, now),
          {
            Update: {
              Key: keys.message(chat.chatId, reply.messageId),
              UpdateExpression: `SET #status = :generating, #text = :empty, alternate = :alternate, leaseUntil = :lease, updatedAt = :now${list ? "" : ", alternates = :first"} REMOVE stopRequested, followed, #usage, feedback`,
              // The list as read: a concurrent retake that got in first changed it.
              ConditionExpression: `#role = :model AND #status <> :generating AND ${list ? "size(alternates) = :count" : "attribute_not_exists(alternates)"}`,
              ExpressionAttributeNames: { "#status": "status", "#text": "text", "#usage": "usage", "#role": "role" },
              ExpressionAttributeValues: {
                ":generating": "generating",
                ":empty": "",
                ":alternate": alternate,
                ":lease": now.getTime() + leaseMs,
                ":now": at,
                ":model": "model",
                ...(list ? { ":count": list.length } : { ":first": [entryOf(reply)] }),
              },
            },
          },
          // Last: the messages-per-minute counter counts only a retake that begins.
          ...(counter ? [counter] : []),
        ]);
      } catch (error) {
        const refused = refusal(error, last, counter);
        return refused === "changed" ? "busy" : refused;
      }
      const { usage: _usage, feedback: _feedback, ...rest } = reply;
      return {
        ...rest,
        text: "",
        status: "generating",
        alternate,
        alternates: list ?? [entryOf(reply)],
        leaseUntil: now.getTime() + leaseMs,
      };
    },

    /**
     * Replaces the text of `user` (the chat's last user message) and its reply `previous` by a
     * new `generating` reply (its alternates answered the old text and go with it); takes the lock.
     */
    async beginEdit(
      chat: Chat,
      user: Message,
      previous: Message | undefined,
      text: string,
      /** The new reply, `generating` (begin-store.ts `generatingReply`). */
      reply: Message,
      counter?: TableWrite,
      now = new Date(),
    ): Promise<{ user: Message; reply: Message } | Refusal> {
      const at = now.toISOString();
      const last = { field: "userId" as const, id: user.messageId };
      try {
        await table.transact([
          lockFor(chat, last, { userId: user.messageId, replyId: reply.messageId }, reply.messageId, now),
          {
            Update: {
              Key: keys.message(chat.chatId, user.messageId),
              UpdateExpression: "SET #text = :text, editedAt = :now",
              ConditionExpression: "#role = :user",
              ExpressionAttributeNames: { "#text": "text", "#role": "role" },
              ExpressionAttributeValues: { ":text": text, ":now": at, ":user": "user" },
            },
          },
          ...(previous
            ? [
                {
                  Delete: {
                    Key: keys.message(chat.chatId, previous.messageId),
                    ConditionExpression: "#status <> :generating",
                    ExpressionAttributeNames: { "#status": "status" },
                    ExpressionAttributeValues: { ":generating": "generating" },
                  },
                },
              ]
            : []),
          { Put: { Item: { ...keys.message(chat.chatId, reply.messageId), ...reply }, ConditionExpression: "attribute_not_exists(PK)" } },
          ...(counter ? [counter] : []),
        ]);
      } catch (error) {
        const refused = refusal(error, last, counter);
        return refused === "changed" ? "busy" : refused;
      }
      return { user: { ...user, text, editedAt: at }, reply };
    },

    /** Shows alternate `n` of an ended reply; undefined when it is generating (or gone) meanwhile. */
    async select(chatId: string, reply: Message, n: number): Promise<Message | undefined> {
      const chosen = reply.alternates![n]!;
      try {
        const { Attributes } = await table.update({
          Key: keys.message(chatId, reply.messageId),
          UpdateExpression: "SET #text = :text, #status = :status, #usage = :usage, alternate = :n REMOVE feedback",
          ConditionExpression: "#status <> :generating AND size(alternates) > :n",
          ExpressionAttributeNames: { "#text": "text", "#status": "status", "#usage": "usage" },
          ExpressionAttributeValues: {
            ":text": chosen.text,
            ":status": chosen.status,
            ":usage": chosen.usage ?? { inputTokens: 0, outputTokens: 0 },
            ":n": n,
            ":generating": "generating",
          },
          ReturnValues: "ALL_NEW",
        });
        return Attributes ? withoutKeys<Message>(Attributes) : undefined;
      } catch (error) {
        if (isConditionFailed(error)) return undefined;
        throw error;
      }
    },
  };
}

export type AlternatesStore = ReturnType<typeof alternatesStore>;
