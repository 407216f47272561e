/**
 * Fixed-window counters kept in the table, for rate limits and budgets: one item per
 * (owner, scope, window), incremented with a conditional update and expired by TTL. Each
 * counter lives in its owner's partition (a user, a survey, an IP pseudonym: data/keys.ts
 * `RateOwner`), so deleting a user or a survey finds every counter by Query (`forget`). One
 * round trip per check, no read-modify-write race: the condition refuses the increment past
 * the limit. An increment can also ride inside a write transaction (`increment`), so it
 * counts only if everything else in the transaction holds.
 *
 * @example
 * const limits = rateLimits(table);
 * await limits.consume({ scope: "chat-user", name: "chat_messages_per_minute", limit: 20, windowSeconds: 60 }, { user: uid });
 */
import { RateLimitedError } from "../errors.ts";
import { keys, type RateOwner } from "./keys.ts";

export type { RateOwner } from "./keys.ts";
import { isConditionFailed, type Table, type TableWrite } from "./table.ts";

export interface RateLimit {
  /** Names the counter family in the table, e.g. `answer-ip`. */
  scope: string;
  /** What a refusal tells the client it ran into (the API's `details.limit`), e.g. `answers_per_ip`. */
  name: string;
  /** 0 switches the rule off. */
  limit: number;
  windowSeconds: number;
}

export interface Increment {
  /** Adds one to the current window's count, on condition that the limit is not reached yet. */
  write: Extract<TableWrite, { Update: unknown }>;
  /** The error for a refused increment, with the seconds until the window ends. */
  refused(): RateLimitedError;
}

function windowOf(rule: Pick<RateLimit, "windowSeconds">, now: number) {
  const ms = rule.windowSeconds * 1000;
  const start = Math.floor(now / ms) * ms;
  return {
    start,
    secondsLeft: Math.max(1, Math.ceil((start + ms - now) / 1000)),
    // Kept a window past its end; TTL deletion is lazy anyway.
    expiresAt: Math.ceil((start + 2 * ms) / 1000),
  };
}

export function rateLimits(table: Table) {
  /** The increment of `rule`'s counter for `owner`; `undefined` when the rule is off. */
  function increment(rule: RateLimit, owner: RateOwner, now = Date.now()): Increment | undefined {
    if (rule.limit === 0) return undefined;
    const window = windowOf(rule, now);
    return {
      write: {
        Update: {
          Key: keys.rateWindow(owner, rule.scope, window.start),
          UpdateExpression: "ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)",
          ConditionExpression: "attribute_not_exists(#count) OR #count < :limit",
          ExpressionAttributeNames: { "#count": "count" },
          ExpressionAttributeValues: { ":one": 1, ":limit": rule.limit, ":expires": window.expiresAt },
        },
      },
      refused: () => new RateLimitedError("Too many requests, try again later", rule.name, window.secondsLeft),
    };
  }

  return {
    increment,

    /**
     * Counts one event for `owner`; throws `RateLimitedError` (with the seconds until the
     * window ends) when the limit is already reached.
     */
    async consume(rule: RateLimit, owner: RateOwner, now = Date.now()): Promise<void> {
      const count = increment(rule, owner, now);
      if (!count) return;
      try {
        await table.update(count.write.Update);
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        throw count.refused();
      }
    },

    /** How much of the current window's allowance is used, and how long until it resets. */
    async used(
      rule: Pick<RateLimit, "scope" | "windowSeconds">,
      owner: RateOwner,
      now = Date.now(),
    ): Promise<{ count: number; secondsLeft: number }> {
      const window = windowOf(rule, now);
      const item = await table.get<{ count?: number }>(keys.rateWindow(owner, rule.scope, window.start));
      return { count: Number(item?.count ?? 0), secondsLeft: window.secondsLeft };
    },

    /** Adds `amount` to the current window's count, unconditionally (a budget charged after use). */
    async add(rule: Pick<RateLimit, "scope" | "windowSeconds">, owner: RateOwner, amount: number, now = Date.now()): Promise<void> {
      const window = windowOf(rule, now);
      await table.update({
        Key: keys.rateWindow(owner, rule.scope, window.start),
        UpdateExpression: "ADD #count :amount SET expiresAt = if_not_exists(expiresAt, :expires)",
        ExpressionAttributeNames: { "#count": "count" },
        ExpressionAttributeValues: { ":amount": amount, ":expires": window.expiresAt },
      });
    },

    /** Deletes every counter of `owner` (a deleted user or survey); returns how many there were. */
    async forget(owner: RateOwner): Promise<number> {
      const found = await table.queryAll<{ PK: string; SK: string }>({
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": keys.ratesOf(owner).PK },
        ProjectionExpression: "PK, SK",
      });
      await table.deleteKeys(found);
      return found.length;
    },
  };
}

export type RateLimits = ReturnType<typeof rateLimits>;
