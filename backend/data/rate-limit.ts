/**
 * Fixed-window rate limits kept in the table: one counter item per (scope, subject,
 * window), incremented with a conditional update and expired by TTL. One round trip per
 * check, no read-modify-write race: the condition refuses the increment past the limit.
 * The same increment can also ride inside a write transaction (`counter`), so it counts
 * only if everything else in the transaction holds.
 */
import { UpdateCommand, type TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { RateLimitedError } from "../errors.ts";
import { keys } from "./keys.ts";
import { isConditionFailed, table } from "./table.ts";

export interface RateLimit {
  /** Names the counter family, e.g. `answer-ip`. Also the error code's suffix. */
  scope: string;
  limit: number;
  windowSeconds: number;
}

type TransactUpdate = NonNullable<NonNullable<TransactWriteCommandInput["TransactItems"]>[number]["Update"]>;

export interface Counter {
  /** Adds one to the current window's count, on condition that the limit is not reached yet. */
  update: TransactUpdate;
  /** The error for a refused increment, with the seconds until the window ends. */
  refused(): RateLimitedError;
}

/**
 * The increment of `rule`'s counter for `subject` in the window `now` falls in, for a
 * transaction; `undefined` when the rule is off (limit 0).
 * @example const perIp = counter(tableName, { scope: "answer-ip", limit: 5, windowSeconds: 3600 }, subject);
 */
export function counter(tableName: string, rule: RateLimit, subject: string, now = Date.now()): Counter | undefined {
  if (rule.limit === 0) return undefined;
  const windowMs = rule.windowSeconds * 1000;
  const windowStart = Math.floor(now / windowMs) * windowMs;
  return {
    update: {
      TableName: tableName,
      Key: keys.rateWindow(rule.scope, subject, windowStart),
      UpdateExpression: "ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)",
      ConditionExpression: "attribute_not_exists(#count) OR #count < :limit",
      ExpressionAttributeNames: { "#count": "count" },
      ExpressionAttributeValues: {
        ":one": 1,
        ":limit": rule.limit,
        // Kept a window past its end; TTL deletion is lazy anyway.
        ":expires": Math.ceil((windowStart + 2 * windowMs) / 1000),
      },
    },
    refused() {
      const retryAfter = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
      return new RateLimitedError("Too many requests, try again later", `rate_limited_${rule.scope.replace(/-/g, "_")}`, retryAfter);
    },
  };
}

/**
 * Counts one event for `subject`; throws `RateLimitedError` (with the seconds until the
 * window ends) when the limit is already reached. A limit of 0 disables the check.
 */
export async function consume(tableName: string, rule: RateLimit, subject: string, now = Date.now()): Promise<void> {
  const count = counter(tableName, rule, subject, now);
  if (!count) return;
  try {
    await table().send(new UpdateCommand(count.update));
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    throw count.refused();
  }
}
