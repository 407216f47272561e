/**
 * Chats and their messages on the single table. A chat lives under its creator
 * (`USER#uid/CHAT#id`), so reading it is also the ownership check; its messages live under
 * `CHAT#id` with time-ordered ids, so history is a Query in key order, either direction.
 */
import { GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConflictError } from "../errors.ts";
import { keys } from "../data/keys.ts";
import { cancellationReasons, isConditionFailed, table, transact } from "../data/table.ts";
import { timeOrderedId } from "./ids.ts";

export interface Chat {
  chatId: string;
  uid: string;
  personaId: string;
  personaUid: string;
  title: string;
  createdAt: string;
  updatedAt: string;
  /** Older turns folded into prose, and the last message id folded in. */
  summary?: string;
  summaryThrough?: string;
  /** The reply being generated, if any: one at a time per chat. */
  generating?: { replyId: string; expiresAt: string };
}

export type MessageStatus = "complete" | "generating" | "interrupted" | "failed";

export interface Message {
  messageId: string;
  chatId: string;
  role: "user" | "model";
  text: string;
  status: MessageStatus;
  createdAt: string;
  usage?: { inputTokens: number; outputTokens: number };
  stopRequested?: boolean;
}

/** What a request naming a chat (or reply) that does not exist, or not for this caller, is told. */
export const NO_SUCH_CHAT = "No such chat";
export const NO_SUCH_REPLY = "No such reply";

/** A reply lock older than this is abandoned (its process died) and may be taken over. */
const LOCK_MS = 5 * 60_000;

const strip = <T extends object>(item: Record<string, unknown>): T => {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as T;
};

export async function createChat(tableName: string, uid: string, persona: { personaId: string; uid: string; name: string }): Promise<Chat> {
  const now = new Date().toISOString();
  const chat: Chat = { chatId: timeOrderedId(), uid, personaId: persona.personaId, personaUid: persona.uid, title: `Chat with ${persona.name}`, createdAt: now, updatedAt: now };
  await table().send(new UpdateCommand({
    TableName: tableName,
    Key: keys.chat(uid, chat.chatId),
    UpdateExpression: "SET chatId = :id, #uid = :uid, personaId = :pid, personaUid = :puid, title = :title, createdAt = :now, updatedAt = :now",
    ConditionExpression: "attribute_not_exists(PK)",
    ExpressionAttributeNames: { "#uid": "uid" },
    ExpressionAttributeValues: { ":id": chat.chatId, ":uid": uid, ":pid": chat.personaId, ":puid": chat.personaUid, ":title": chat.title, ":now": now },
  }));
  return chat;
}

/** The chat if `uid` created it; undefined otherwise (others' chats do not exist for them). */
export async function getChat(tableName: string, uid: string, chatId: string): Promise<Chat | undefined> {
  const { Item } = await table().send(new GetCommand({ TableName: tableName, Key: keys.chat(uid, chatId), ConsistentRead: true }));
  return Item ? strip<Chat>(Item) : undefined;
}

export interface Page<T> {
  items: T[];
  /** Key to continue from, when there may be more. */
  next?: string;
}

/** Newest first. `cursor` is the last chat id of the previous page. */
export async function listChats(tableName: string, uid: string, limit: number, cursor?: string): Promise<Page<Chat>> {
  const { Items = [], LastEvaluatedKey } = await table().send(new QueryCommand({
    TableName: tableName,
    KeyConditionExpression: cursor ? "PK = :pk AND SK BETWEEN :from AND :to" : "PK = :pk AND begins_with(SK, :prefix)",
    ExpressionAttributeValues: cursor ? { ":pk": `USER#${uid}`, ":from": "CHAT#", ":to": `CHAT#${cursor}` } : { ":pk": `USER#${uid}`, ":prefix": "CHAT#" },
    ScanIndexForward: false,
    Limit: limit + (cursor ? 1 : 0),
  }));
  const chats = Items.map((i) => strip<Chat>(i)).filter((c) => c.chatId !== cursor).slice(0, limit);
  return { items: chats, next: LastEvaluatedKey && chats.length ? chats.at(-1)!.chatId : undefined };
}

/**
 * A page of history, always in chronological order. `before`: older than that id (the page
 * nearest to it); `after`: newer than that id; neither: the latest page.
 */
export async function listMessages(tableName: string, chatId: string, limit: number, at: { before?: string; after?: string } = {}): Promise<{ items: Message[]; more: boolean }> {
  const forward = at.after !== undefined;
  const bound = at.after ?? at.before;
  const { Items = [], LastEvaluatedKey } = await table().send(new QueryCommand({
    TableName: tableName,
    KeyConditionExpression: bound === undefined ? "PK = :pk AND begins_with(SK, :prefix)" : forward ? "PK = :pk AND SK > :bound" : "PK = :pk AND SK BETWEEN :prefix AND :bound",
    ExpressionAttributeValues: bound === undefined ? { ":pk": `CHAT#${chatId}`, ":prefix": "MSG#" } : forward ? { ":pk": `CHAT#${chatId}`, ":bound": `MSG#${bound}` } : { ":pk": `CHAT#${chatId}`, ":prefix": "MSG#", ":bound": `MSG#${bound}` },
    ScanIndexForward: forward,
    ConsistentRead: true,
    Limit: limit + (at.before !== undefined ? 1 : 0),
  }));
  const messages = Items.map((i) => strip<Message>(i)).filter((m) => m.messageId !== at.before).slice(0, limit);
  if (!forward) messages.reverse();
  return { items: messages, more: LastEvaluatedKey !== undefined || Items.length > limit };
}

/**
 * Stores the user's message and a `generating` reply placeholder, and takes the chat's reply
 * lock, in one transaction: the message is stored before any model call, and a second
 * concurrent send to the same chat gets 409.
 */
export async function beginTurn(tableName: string, chat: Chat, text: string, now = new Date()): Promise<{ user: Message; reply: Message }> {
  const at = now.toISOString();
  const user: Message = { messageId: timeOrderedId(now.getTime()), chatId: chat.chatId, role: "user", text, status: "complete", createdAt: at };
  const reply: Message = { messageId: timeOrderedId(now.getTime()), chatId: chat.chatId, role: "model", text: "", status: "generating", createdAt: at };
  try {
    await transact({
      TransactItems: [
        {
          Update: {
            TableName: tableName,
            Key: keys.chat(chat.uid, chat.chatId),
            UpdateExpression: "SET generating = :lock, updatedAt = :now",
            ConditionExpression: "attribute_exists(PK) AND (attribute_not_exists(generating) OR generating.expiresAt < :now)",
            ExpressionAttributeValues: { ":lock": { replyId: reply.messageId, expiresAt: new Date(now.getTime() + LOCK_MS).toISOString() }, ":now": at },
          },
        },
        { Put: { TableName: tableName, Item: { ...keys.message(chat.chatId, user.messageId), ...user }, ConditionExpression: "attribute_not_exists(PK)" } },
        { Put: { TableName: tableName, Item: { ...keys.message(chat.chatId, reply.messageId), ...reply }, ConditionExpression: "attribute_not_exists(PK)" } },
      ],
    });
  } catch (error) {
    if (cancellationReasons(error)?.[0]?.code === "ConditionalCheckFailed") throw new ConflictError("A reply is already being generated in this chat", "reply_in_progress");
    throw error;
  }
  return { user, reply };
}

/** Stores the reply as it ended and releases the chat's lock, together. */
export async function finishTurn(tableName: string, chat: Chat, reply: Message, end: { text: string; status: MessageStatus; usage?: Message["usage"] }): Promise<void> {
  const now = new Date().toISOString();
  await transact({
    TransactItems: [
      {
        Update: {
          TableName: tableName,
          Key: keys.message(chat.chatId, reply.messageId),
          UpdateExpression: "SET #text = :text, #status = :status, #usage = :usage, updatedAt = :now",
          ExpressionAttributeNames: { "#text": "text", "#status": "status", "#usage": "usage" },
          ExpressionAttributeValues: { ":text": end.text, ":status": end.status, ":usage": end.usage ?? { inputTokens: 0, outputTokens: 0 }, ":now": now },
        },
      },
      {
        Update: {
          TableName: tableName,
          Key: keys.chat(chat.uid, chat.chatId),
          UpdateExpression: "REMOVE generating SET updatedAt = :now",
          ConditionExpression: "generating.replyId = :reply",
          ExpressionAttributeValues: { ":reply": reply.messageId, ":now": now },
        },
      },
    ],
  });
}

/** Asks a generating reply to stop; false when it is not generating (any more). */
/** What a reply request names: nothing (or a user message), a finished reply, or one generating. */
export type StopOutcome = "stopping" | "not_generating" | "no_such_reply";

/** Flags a generating reply to stop; the stream sees the flag between chunks. */
export async function requestStop(tableName: string, chatId: string, replyId: string): Promise<StopOutcome> {
  try {
    await table().send(new UpdateCommand({
      TableName: tableName,
      Key: keys.message(chatId, replyId),
      UpdateExpression: "SET stopRequested = :yes",
      ConditionExpression: "#status = :generating AND #role = :model",
      ExpressionAttributeNames: { "#status": "status", "#role": "role" },
      ExpressionAttributeValues: { ":yes": true, ":generating": "generating", ":model": "model" },
      // Which condition failed, without a second read: no item, or an item that is not generating.
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    }));
    return "stopping";
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    return error.Item?.role?.S === "model" ? "not_generating" : "no_such_reply";
  }
}

export async function stopRequested(tableName: string, chatId: string, replyId: string): Promise<boolean> {
  const { Item } = await table().send(new GetCommand({ TableName: tableName, Key: keys.message(chatId, replyId), ConsistentRead: true, ProjectionExpression: "stopRequested" }));
  return Item?.stopRequested === true;
}

export async function saveSummary(tableName: string, chat: Chat, summary: string, through: string): Promise<void> {
  await table().send(new UpdateCommand({
    TableName: tableName,
    Key: keys.chat(chat.uid, chat.chatId),
    UpdateExpression: "SET summary = :summary, summaryThrough = :through",
    ExpressionAttributeValues: { ":summary": summary, ":through": through },
  }));
}
