/** Opening chats: with any persona the caller may use, or their own one-shot chat. */
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { keys } from "../data/keys.ts";
import { isConditionFailed, table } from "../data/table.ts";
import { chattablePersona } from "./chats.ts";
import { createChat, getChat, type Chat } from "./store.ts";

export async function startChat(tableName: string, uid: string, personaId?: string): Promise<Chat> {
  const persona = await chattablePersona(tableName, uid, personaId);
  return createChat(tableName, uid, { personaId: persona.personaId, uid: persona.uid, name: persona.current.card.name });
}

/** The chat the one-shot endpoint continues: made on first use, then always the same. */
export async function selfChat(tableName: string, uid: string): Promise<Chat> {
  const { Item } = await table().send(new GetCommand({ TableName: tableName, Key: keys.selfChat(uid), ConsistentRead: true }));
  const existing = Item ? await getChat(tableName, uid, Item.chatId as string) : undefined;
  if (existing) return existing;
  const chat = await startChat(tableName, uid);
  try {
    await table().send(new PutCommand({ TableName: tableName, Item: { ...keys.selfChat(uid), chatId: chat.chatId }, ConditionExpression: "attribute_not_exists(PK)" }));
    return chat;
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    // A concurrent first call won: use its chat (ours stays as an empty chat in the list).
    return selfChat(tableName, uid);
  }
}
