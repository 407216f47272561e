/**
 * Chats in an export and a deletion, on the single table: every chat of a user, every message
 * of a chat page by page, deleting a user's chats (messages, the persona owner's pointer, the
 * chat), and closing chats with a deleted persona. Apart from store.ts (the turns) so each
 * stays small; only these store modules hold the chat domain's DynamoDB expressions.
 */
import { keys } from "../data/keys.ts";
import { isConditionFailed, withoutKeys, type Table } from "../data/table.ts";
import type { Chat, Message } from "./store.ts";

export function chatLifecycleStore(table: Table) {
  return {
    /** Every chat of `uid` (for an export), oldest first. */
    all: (uid: string): Promise<Chat[]> =>
      table
        .queryAll<Record<string, unknown>>({
          KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
          ExpressionAttributeValues: { ":pk": keys.chatsOf(uid).PK, ":prefix": keys.chatsOf(uid).SKPrefix },
          ConsistentRead: true,
        })
        .then((items) => items.map((i) => withoutKeys<Chat>(i))),

    /** One page of a chat's messages, oldest first, after `cursor` (a message id). */
    async messagesAfter(chatId: string, limit: number, cursor?: string): Promise<{ items: Message[]; next?: string }> {
      const all = keys.messagesOf(chatId);
      const { Items = [], LastEvaluatedKey } = await table.query({
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues: { ":pk": all.PK, ":prefix": all.SKPrefix },
        ExclusiveStartKey: cursor === undefined ? undefined : keys.message(chatId, cursor),
        ConsistentRead: true,
        Limit: limit,
      });
      const items = Items.map((i) => withoutKeys<Message>(i));
      return { items, next: LastEvaluatedKey ? items.at(-1)?.messageId : undefined };
    },

    /**
     * Up to `limit` chats of `uid` removed: each chat's messages, then the persona owner's
     * pointer to it, the chat itself last (what finds the rest if this is cut short). `done`
     * once the user has no chat left.
     */
    async forgetChatsOf(uid: string, limit: number): Promise<{ deleted: number; done: boolean }> {
      let deleted = 0;
      const mine = keys.chatsOf(uid);
      for (;;) {
        const { Items = [] } = await table.query({
          KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
          ExpressionAttributeValues: { ":pk": mine.PK, ":prefix": mine.SKPrefix },
          ConsistentRead: true,
          Limit: 25,
        });
        if (Items.length === 0) return { deleted, done: true };
        for (const chat of Items.map((i) => withoutKeys<Chat>(i))) {
          const messages = await table.deleteItemsOf(keys.messagesOf(chat.chatId).PK, { limit: limit - deleted });
          deleted += messages.deleted;
          if (!messages.done) return { deleted, done: false };
          await table.deleteKeys([...(chat.personaUid ? [keys.guestChat(chat.personaUid, chat.chatId)] : []), keys.chat(uid, chat.chatId)]);
          deleted += 2;
          if (deleted >= limit) return { deleted, done: false };
        }
      }
    },

    /**
     * The persona of `personaUid` is gone (`personaId` only, when given: not a newer one):
     * up to `limit` chats with it (anyone's) lose their persona and take no more messages,
     * their history kept for their owners; each pointer goes once its chat is closed. With
     * every pointer gone, also forgets which chat the owner's one-shot endpoint continued.
     * `done` once no pointer of it is left.
     */
    async closeChatsWith(personaUid: string, limit: number, personaId?: string): Promise<{ deleted: number; done: boolean }> {
      const guests = keys.guestChatsOf(personaUid);
      let closed = 0;
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await table.query({
          KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
          ...(personaId === undefined
            ? { ExpressionAttributeValues: { ":pk": guests.PK, ":prefix": guests.SKPrefix } }
            : {
                FilterExpression: "personaId = :pid",
                ExpressionAttributeValues: { ":pk": guests.PK, ":prefix": guests.SKPrefix, ":pid": personaId },
              }),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
          Limit: 100,
        });
        for (const pointer of (page.Items ?? []) as { uid: string; chatId: string }[]) {
          if (closed >= limit) return { deleted: closed, done: false };
          try {
            await table.update({
              Key: keys.chat(pointer.uid, pointer.chatId),
              UpdateExpression: "SET closed = :why REMOVE personaId, personaUid",
              ConditionExpression: "attribute_exists(PK)",
              ExpressionAttributeValues: { ":why": "persona_deleted" },
            });
          } catch (error) {
            if (!isConditionFailed(error)) throw error; // its owner deleted it meanwhile
          }
          await table.delete({ Key: keys.guestChat(personaUid, pointer.chatId) });
          closed += 1;
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      await table.delete({ Key: keys.selfChat(personaUid) });
      return { deleted: closed, done: true };
    },
  };
}

export type ChatLifecycleStore = ReturnType<typeof chatLifecycleStore>;
