/**
 * Chat limits, on the table's window counters: messages per user per minute, and model
 * tokens per user per UTC day (checked before a turn, charged after it with what the model
 * reported, so a stopped reply costs what it used).
 */
import type { RateLimits } from "../data/rate-limit.ts";
import { RateLimitedError } from "../errors.ts";

export interface ChatLimitSettings {
  messagesPerMinute: number;
  /** 0 switches the budget off. */
  dailyTokenBudget: number;
}

const MESSAGES = { scope: "chat-user", name: "chat_messages_per_minute", windowSeconds: 60 };
/** A UTC day: windows start at multiples of 86,400 s since the epoch. */
const TOKENS = { scope: "chat-tokens", windowSeconds: 86_400 };

export function chatLimits(limits: RateLimits, settings: ChatLimitSettings) {
  return {
    /** One more message from `uid`, within the per-minute limit and today's token budget. */
    async admit(uid: string, now = Date.now()): Promise<void> {
      // The message counter and today's tokens side by side (one round trip); the counter's refusal comes first.
      const [consumed, used] = await Promise.allSettled([
        limits.consume({ ...MESSAGES, limit: settings.messagesPerMinute }, { user: uid }, now),
        settings.dailyTokenBudget === 0 ? undefined : limits.used(TOKENS, { user: uid }, now),
      ]);
      if (consumed.status === "rejected") throw consumed.reason;
      if (used.status === "rejected") throw used.reason;
      const today = used.value;
      if (today === undefined) return;
      if (today.count >= settings.dailyTokenBudget) {
        throw new RateLimitedError("Today's chat token budget is used up", "daily_token_budget", today.secondsLeft);
      }
    },

    /** What a turn used, against today's budget. */
    async charge(uid: string, tokens: number, now = Date.now()): Promise<void> {
      if (tokens > 0) await limits.add(TOKENS, { user: uid }, tokens, now);
    },
  };
}

export type ChatLimits = ReturnType<typeof chatLimits>;
