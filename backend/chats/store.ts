/**
 * Chats and their messages on the single table. Every DynamoDB expression of the chat
 * domain lives here. A chat lives under its creator (`USER#uid/CHAT#id`), so reading it is
 * also the ownership check; its messages live under `CHAT#id` with time-ordered ids, so
 * history is a Query in key order, either direction. The persona's owner keeps a pointer to
 * every chat with their persona (`USER#personaUid/PERSONA_CHAT#id`), so deleting the persona
 * finds the chats to close, and deleting the chat finds the pointer, without a Scan
 * (lifecycle-store.ts: export, deletion, closing).
 */
import { keys } from "../data/keys.ts";
import type { Increment } from "../data/rate-limit.ts";
import { cancellationReasons, isConditionFailed, withoutKeys, type Table } from "../data/table.ts";
import { beginStore } from "./begin-store.ts";
import { timeOrderedId } from "./ids.ts";
import type { Chat, HistoryPosition, Message, MessageStatus, Page, StopOutcome } from "./model.ts";

export type { Chat, HistoryPosition, Message, MessageStatus, Page, StopOutcome } from "./model.ts";

export { generatingReply, LOCK_MS } from "./begin-store.ts";

export function chatStore(table: Table) {
  return {
    /** A turn's beginning: message, placeholder and lock in one transaction (begin-store.ts). */
    ...beginStore(table),

    /**
     * A new chat, the persona's greeting as its first message (no model call), the persona
     * owner's pointer to it and the caller's chat counter, in one transaction; `limited`
     * (nothing written) when the counter is full.
     */
    async create(
      uid: string,
      persona: { personaId: string; uid: string; name: string; greeting?: string },
      limit?: Increment,
      now = new Date(),
    ): Promise<Chat | "limited"> {
      const at = now.toISOString();
      const chat: Chat = {
        chatId: timeOrderedId(),
        uid,
        personaId: persona.personaId,
        personaUid: persona.uid,
        title: `Chat with ${persona.name}`,
        createdAt: at,
        updatedAt: at,
      };
      const greeting: Message = {
        messageId: timeOrderedId(now.getTime()),
        chatId: chat.chatId,
        role: "model",
        text: persona.greeting ?? "",
        status: "complete",
        createdAt: at,
        greeting: true,
      };
      try {
        await table.transact([
          { Put: { Item: { ...keys.chat(uid, chat.chatId), ...chat }, ConditionExpression: "attribute_not_exists(PK)" } },
          { Put: { Item: { ...keys.guestChat(persona.uid, chat.chatId), uid, chatId: chat.chatId, personaId: persona.personaId } } },
          ...(persona.greeting ? [{ Put: { Item: { ...keys.message(chat.chatId, greeting.messageId), ...greeting } } }] : []),
          // Last: a full counter is the last cancellation reason.
          ...(limit ? [limit.write] : []),
        ]);
      } catch (error) {
        if (limit && cancellationReasons(error)?.at(-1)?.code === "ConditionalCheckFailed") return "limited";
        throw error;
      }
      return chat;
    },

    /** The chat if `uid` created it; undefined otherwise (others' chats do not exist for them). */
    async find(uid: string, chatId: string): Promise<Chat | undefined> {
      const item = await table.get(keys.chat(uid, chatId), { consistent: true });
      return item ? withoutKeys<Chat>(item) : undefined;
    },

    /** Newest first. `cursor` is the last chat id of the previous page. */
    async list(uid: string, limit: number, cursor?: string): Promise<Page<Chat>> {
      const mine = keys.chatsOf(uid);
      const { Items = [], LastEvaluatedKey } = await table.query({
        KeyConditionExpression: cursor ? "PK = :pk AND SK BETWEEN :from AND :to" : "PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues: cursor
          ? { ":pk": mine.PK, ":from": mine.SKPrefix, ":to": keys.chat(uid, cursor).SK }
          : { ":pk": mine.PK, ":prefix": mine.SKPrefix },
        ScanIndexForward: false,
        Limit: limit + (cursor ? 1 : 0),
      });
      const chats = Items.map((i) => withoutKeys<Chat>(i))
        .filter((c) => c.chatId !== cursor)
        .slice(0, limit);
      return { items: chats, next: LastEvaluatedKey && chats.length ? chats.at(-1)!.chatId : undefined };
    },

    /**
     * A page of history, always in chronological order. `older`: the page just before the
     * cursor (without one, the latest page); `newer`: the page just after it (without one,
     * the first page). `more`: the walk may go on in the same direction.
     */
    async messages(
      chatId: string,
      limit: number,
      at: HistoryPosition = { direction: "older" },
    ): Promise<{ items: Message[]; more: boolean }> {
      const forward = at.direction === "newer";
      const bound = at.cursor;
      const all = keys.messagesOf(chatId);
      const { Items = [], LastEvaluatedKey } = await table.query({
        KeyConditionExpression:
          bound === undefined
            ? "PK = :pk AND begins_with(SK, :prefix)"
            : forward
              ? "PK = :pk AND SK > :bound"
              : "PK = :pk AND SK BETWEEN :prefix AND :bound",
        ExpressionAttributeValues:
          bound === undefined
            ? { ":pk": all.PK, ":prefix": all.SKPrefix }
            : forward
              ? { ":pk": all.PK, ":bound": keys.message(chatId, bound).SK }
              : { ":pk": all.PK, ":prefix": all.SKPrefix, ":bound": keys.message(chatId, bound).SK },
        ScanIndexForward: forward,
        ConsistentRead: true,
        // BETWEEN includes the cursor's own message, which is then left out.
        Limit: limit + (!forward && bound !== undefined ? 1 : 0),
      });
      const messages = Items.map((i) => withoutKeys<Message>(i))
        .filter((m) => m.messageId !== bound)
        .slice(0, limit);
      if (!forward) messages.reverse();
      return { items: messages, more: LastEvaluatedKey !== undefined || Items.length > limit };
    },

    /** One message of a chat, read consistently. */
    async message(chatId: string, messageId: string): Promise<Message | undefined> {
      const item = await table.get(keys.message(chatId, messageId), { consistent: true });
      return item ? withoutKeys<Message>(item) : undefined;
    },

    /**
     * Stores the reply as it ended and releases the chat's lock, together; only while it is
     * still generating (a reader may have found it abandoned and closed it: then nothing is
     * written, and false says so).
     */
    async finishTurn(chat: Chat, reply: Message, end: { text: string; status: MessageStatus; usage?: Message["usage"] }): Promise<boolean> {
      const now = new Date().toISOString();
      try {
        await this.endReply(chat, reply, end, now);
        return true;
      } catch (error) {
        if (cancellationReasons(error)?.[0]?.code === "ConditionalCheckFailed") return false;
        throw error;
      }
    },

    async endReply(chat: Chat, reply: Message, end: { text: string; status: MessageStatus; usage?: Message["usage"] }, now: string) {
      const usage = end.usage ?? { inputTokens: 0, outputTokens: 0 };
      const regenerated = (reply.alternate ?? 0) > 0;
      await table.transact([
        {
          Update: {
            Key: keys.message(chat.chatId, reply.messageId),
            // A regenerated alternate is also kept in the reply's list of alternates (alternates/store.ts).
            UpdateExpression: `SET #text = :text, #status = :status, #usage = :usage, updatedAt = :now${regenerated ? ", alternates = list_append(alternates, :entry)" : ""} REMOVE leaseUntil, followed`,
            ConditionExpression: "#status = :generating",
            ExpressionAttributeNames: { "#text": "text", "#status": "status", "#usage": "usage" },
            ExpressionAttributeValues: {
              ":text": end.text,
              ":status": end.status,
              ":usage": usage,
              ":now": now,
              ":generating": "generating",
              ...(regenerated ? { ":entry": [{ text: end.text, status: end.status, usage }] } : {}),
            },
          },
        },
        {
          Update: {
            Key: keys.chat(chat.uid, chat.chatId),
            UpdateExpression: "REMOVE generating SET updatedAt = :now",
            ConditionExpression: "generating.replyId = :reply",
            ExpressionAttributeValues: { ":reply": reply.messageId, ":now": now },
          },
        },
      ]);
    },

    /** Flags a generating reply to stop; the stream sees the flag between chunks. */
    async requestStop(chatId: string, replyId: string): Promise<StopOutcome> {
      try {
        await table.update({
          Key: keys.message(chatId, replyId),
          UpdateExpression: "SET stopRequested = :yes",
          ConditionExpression: "#status = :generating AND #role = :model",
          ExpressionAttributeNames: { "#status": "status", "#role": "role" },
          ExpressionAttributeValues: { ":yes": true, ":generating": "generating", ":model": "model" },
          // Which condition failed, without a second read: no item, or an item that is not generating.
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        });
        return "stopping";
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        return error.Item?.role?.S === "model" ? "not_generating" : "no_such_reply";
      }
    },

    /** What others asked of a generating reply: to stop, or to persist its progress for a reader. */
    async requests(chatId: string, replyId: string): Promise<{ stop: boolean; follow: boolean }> {
      const item = await table.get<{ stopRequested?: boolean; followed?: boolean }>(keys.message(chatId, replyId), {
        consistent: true,
        projection: "stopRequested, followed",
      });
      return { stop: item?.stopRequested === true, follow: item?.followed === true };
    },

    async saveSummary(chat: Chat, summary: string, through: string): Promise<void> {
      await table.update({
        Key: keys.chat(chat.uid, chat.chatId),
        UpdateExpression: "SET summary = :summary, summaryThrough = :through",
        ExpressionAttributeValues: { ":summary": summary, ":through": through },
      });
    },

    /** Which chat the one-shot endpoint continues, if one was made. */
    async selfChatId(uid: string): Promise<string | undefined> {
      const item = await table.get<{ chatId: string }>(keys.selfChat(uid), { consistent: true });
      return item?.chatId;
    },

    /** Points the one-shot endpoint at `chatId`; false when a concurrent first call won. */
    async claimSelfChat(uid: string, chatId: string): Promise<boolean> {
      try {
        await table.put({ Item: { ...keys.selfChat(uid), chatId }, ConditionExpression: "attribute_not_exists(PK)" });
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },
  };
}

export type ChatStore = ReturnType<typeof chatStore>;
