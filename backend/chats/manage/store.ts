/**
 * Managing chats on the table: the list by last activity, rename, delete (the chat at once,
 * its partition's items after, by Query and key: no Scan), and feedback on a reply. Every
 * expression of it lives here.
 */
import { keys } from "../../data/keys.ts";
import { isConditionFailed, withoutKeys, type Table } from "../../data/table.ts";
import type { Chat } from "../model.ts";

export type Rating = "up" | "down";

/** Deletes at a time while purging a chat's items (DynamoDB takes them in parallel). */
const PURGE_BATCH = 25;

export function manageStore(table: Table) {
  return {
    /** Every chat of `uid`, without the summaries (the part of a chat item that grows). */
    async allChats(uid: string): Promise<Chat[]> {
      const mine = keys.chatsOf(uid);
      const items = await table.queryAll({
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues: { ":pk": mine.PK, ":prefix": mine.SKPrefix },
        ProjectionExpression: "chatId, #uid, personaId, personaUid, closed, title, createdAt, updatedAt, generating",
        ExpressionAttributeNames: { "#uid": "uid" },
      });
      return items.map((i) => withoutKeys<Chat>(i));
    },

    /** The chat renamed; undefined when it is not `uid`'s. */
    async rename(uid: string, chatId: string, title: string): Promise<Chat | undefined> {
      try {
        const { Attributes } = await table.update({
          Key: keys.chat(uid, chatId),
          UpdateExpression: "SET title = :title, updatedAt = :now",
          ConditionExpression: "attribute_exists(PK)",
          ExpressionAttributeValues: { ":title": title, ":now": new Date().toISOString() },
          ReturnValues: "ALL_NEW",
        });
        return Attributes ? withoutKeys<Chat>(Attributes) : undefined;
      } catch (error) {
        if (isConditionFailed(error)) return undefined;
        throw error;
      }
    },

    /**
     * Removes the chat item (the chat is gone for its owner at once), unless a reply is being
     * generated in it: "generating" then. "gone" when it was not there.
     */
    async removeChat(chat: Chat): Promise<"removed" | "generating" | "gone"> {
      try {
        await table.delete({
          Key: keys.chat(chat.uid, chat.chatId),
          ConditionExpression: "attribute_exists(PK) AND (attribute_not_exists(generating) OR generating.expiresAt < :now)",
          ExpressionAttributeValues: { ":now": new Date().toISOString() },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        });
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        return error.Item ? "generating" : "gone";
      }
      // The persona owner's pointer to it (lifecycle: closing chats when a persona goes).
      if (chat.personaUid) await table.delete({ Key: keys.guestChat(chat.personaUid, chat.chatId) });
      // The one-shot route's pointer, if it named this chat: it makes a new chat next time.
      await table
        .delete({
          Key: keys.selfChat(chat.uid),
          ConditionExpression: "chatId = :id",
          ExpressionAttributeValues: { ":id": chat.chatId },
        })
        .catch((error: unknown) => {
          if (!isConditionFailed(error)) throw error;
        });
      return "removed";
    },

    /**
     * Deletes the items of a chat's partition (messages, progress), a page at a time, until
     * none is left or `until` says stop; true when the partition is empty.
     */
    async purge(chatId: string, until: () => boolean = () => false): Promise<boolean> {
      const partition = keys.chatItems(chatId);
      for (;;) {
        const { Items = [] } = await table.query({
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": partition.PK },
          ProjectionExpression: "PK, SK",
          ConsistentRead: true,
          Limit: 100,
        });
        if (Items.length === 0) return true;
        for (let i = 0; i < Items.length; i += PURGE_BATCH) {
          await Promise.all(Items.slice(i, i + PURGE_BATCH).map((k) => table.delete({ Key: { PK: k.PK, SK: k.SK } })));
        }
        if (until()) return false;
      }
    },

    /** Feedback on a reply of the chat; false when `replyId` is not a reply there. */
    async setFeedback(chatId: string, replyId: string, rating: Rating | null): Promise<boolean> {
      try {
        await table.update({
          Key: keys.message(chatId, replyId),
          UpdateExpression: rating === null ? "REMOVE feedback" : "SET feedback = :feedback",
          ConditionExpression: "#role = :model",
          ExpressionAttributeNames: { "#role": "role" },
          ExpressionAttributeValues: {
            ":model": "model",
            ...(rating === null ? {} : { ":feedback": { rating, at: new Date().toISOString() } }),
          },
        });
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },
  };
}

export type ManageStore = ReturnType<typeof manageStore>;
