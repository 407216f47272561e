/**
 * A generating reply's progress on the table, for readers in other processes (resume): small
 * append-only items under the chat's partition (`PROG#<reply>#<alternate>#<seq>`), each the
 * chunks made since the one before and the generator's lease, TTL'd a day. Every expression
 * of it lives here (docs/data-model.md says how the items look and what they cost).
 */
import { keys } from "../../data/keys.ts";
import { isConditionFailed, type Table } from "../../data/table.ts";
import type { Chat } from "../model.ts";

export interface ProgressItem {
  seq: number;
  /** The reply's chunks since the previous item (possibly none: a heartbeat). */
  chunks: string[];
  /** The reply's text length after these chunks. */
  end: number;
  /** The generator is alive until then (epoch ms), unless it writes again. */
  leaseUntil: number;
}

/** Progress items outlive their reply by a day at most: the reply keeps the text. */
const PROGRESS_TTL_SECONDS = 86_400;

export function progressStore(table: Table) {
  return {
    async write(chatId: string, replyId: string, alternate: number, item: ProgressItem): Promise<void> {
      await table.put({
        Item: {
          ...keys.replyProgress(chatId, replyId, alternate, item.seq),
          ...item,
          expiresAt: Math.floor(Date.now() / 1000) + PROGRESS_TTL_SECONDS,
        },
      });
    },

    /** The items after `seq`, in order. */
    async after(chatId: string, replyId: string, alternate: number, seq: number): Promise<ProgressItem[]> {
      const range = keys.replyProgressAfter(chatId, replyId, alternate, seq);
      const items = await table.queryAll<ProgressItem>({
        KeyConditionExpression: "PK = :pk AND SK BETWEEN :after AND :upTo",
        ExpressionAttributeValues: { ":pk": range.PK, ":after": range.after, ":upTo": range.upTo },
        ProjectionExpression: "seq, chunks, #end, leaseUntil",
        ExpressionAttributeNames: { "#end": "end" },
        ConsistentRead: true,
      });
      return items.filter((i) => i.seq > seq);
    },

    /**
     * Asks the generator (wherever it runs) to persist its progress, and gives it until
     * `leaseUntil` to show it is alive. Once per reply: false when it was asked already or
     * the reply is no longer generating.
     */
    async requestFollow(chatId: string, replyId: string, leaseUntil: number): Promise<boolean> {
      try {
        await table.update({
          Key: keys.message(chatId, replyId),
          UpdateExpression: "SET followed = :yes, leaseUntil = :lease",
          ConditionExpression: "#status = :generating AND attribute_not_exists(followed)",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":yes": true, ":lease": leaseUntil, ":generating": "generating" },
        });
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },

    /**
     * Closes a reply whose generator died (its lease ran out) as `interrupted` with the text it
     * persisted, and frees the chat for the next message. False when it was no longer
     * generating (its generator finished after all, or another reader closed it).
     */
    async closeAbandoned(chat: Chat, replyId: string, text: string, alternate = 0): Promise<boolean> {
      const now = new Date().toISOString();
      const usage = { inputTokens: 0, outputTokens: 0 };
      try {
        await table.update({
          Key: keys.message(chat.chatId, replyId),
          // A regenerated alternate also joins the reply's list of alternates, as it ended.
          UpdateExpression: `SET #text = :text, #status = :interrupted, #usage = :usage, updatedAt = :now${alternate > 0 ? ", alternates = list_append(alternates, :entry)" : ""} REMOVE leaseUntil, followed`,
          ConditionExpression: `#status = :generating${alternate > 0 ? " AND alternate = :alternate" : ""}`,
          ExpressionAttributeNames: { "#text": "text", "#status": "status", "#usage": "usage" },
          ExpressionAttributeValues: {
            ":text": text,
            ":interrupted": "interrupted",
            ":generating": "generating",
            ":usage": usage,
            ":now": now,
            ...(alternate > 0 ? { ":entry": [{ text, status: "interrupted", usage }], ":alternate": alternate } : {}),
          },
        });
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
      try {
        await table.update({
          Key: keys.chat(chat.uid, chat.chatId),
          UpdateExpression: "REMOVE generating SET updatedAt = :now",
          ConditionExpression: "generating.replyId = :reply",
          ExpressionAttributeValues: { ":reply": replyId, ":now": now },
        });
      } catch (error) {
        // The lock had expired and a newer turn holds it: leave it be.
        if (!isConditionFailed(error)) throw error;
      }
      return true;
    },
  };
}

export type ProgressStore = ReturnType<typeof progressStore>;
