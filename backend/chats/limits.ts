/**
 * Chat limits kept in the table: messages per user per minute (a fixed-window counter), and
 * model tokens per user per UTC day (checked before a turn, charged after it with what the
 * model reported, so a stopped reply costs what it used).
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { RateLimitedError } from "../errors.ts";
import { keys } from "../data/keys.ts";
import { consume } from "../data/rate-limit.ts";
import { table } from "../data/table.ts";

const DAY_MS = 86_400_000;

export interface ChatLimits {
  tableName: string;
  messagesPerMinute: number;
  dailyTokenBudget: number;
}

function today(now: number) {
  const start = Math.floor(now / DAY_MS) * DAY_MS;
  return { start, secondsLeft: Math.max(1, Math.ceil((start + DAY_MS - now) / 1000)) };
}

export async function admitMessage(limits: ChatLimits, uid: string, now = Date.now()): Promise<void> {
  await consume(limits.tableName, { scope: "chat-user", limit: limits.messagesPerMinute, windowSeconds: 60 }, uid, now);
  if (limits.dailyTokenBudget === 0) return;
  const day = today(now);
  const { Item } = await table().send(new GetCommand({ TableName: limits.tableName, Key: keys.rateWindow("chat-tokens", uid, day.start) }));
  if (Number(Item?.count ?? 0) >= limits.dailyTokenBudget) {
    throw new RateLimitedError("Today's chat token budget is used up", "daily_token_budget", day.secondsLeft);
  }
}

export async function chargeTokens(limits: ChatLimits, uid: string, tokens: number, now = Date.now()): Promise<void> {
  if (tokens <= 0) return;
  const day = today(now);
  await table().send(new UpdateCommand({
    TableName: limits.tableName,
    Key: keys.rateWindow("chat-tokens", uid, day.start),
    UpdateExpression: "ADD #count :tokens SET expiresAt = if_not_exists(expiresAt, :expires)",
    ExpressionAttributeNames: { "#count": "count" },
    ExpressionAttributeValues: { ":tokens": tokens, ":expires": Math.ceil((day.start + 2 * DAY_MS) / 1000) },
  }));
}
