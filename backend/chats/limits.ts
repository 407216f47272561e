/**
 * Chat limits, on the table's window counters: messages per user per minute (counted in the
 * transaction that begins a turn, so a refused turn counts nothing), and model tokens per
 * user per UTC day (checked before a turn, charged after it with what the model reported,
 * so a stopped reply costs what it used).
 */
import type { Increment, RateLimits } from "../data/rate-limit.ts";
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
  /** Today's token budget not used up yet (one read); RateLimitedError when it is. */
  async function withinBudget(uid: string, now = Date.now()): Promise<void> {
    if (settings.dailyTokenBudget === 0) return;
    const today = await limits.used(TOKENS, { user: uid }, now);
    if (today.count >= settings.dailyTokenBudget) {
      throw new RateLimitedError("Today's chat token budget is used up", "daily_token_budget", today.secondsLeft);
    }
  }

  return {
    withinBudget,

    /** One more message from `uid` as a write to ride in the turn's transaction (`undefined`: no limit). */
    messageCount: (uid: string, now = Date.now()): Increment | undefined =>
      limits.increment({ ...MESSAGES, limit: settings.messagesPerMinute }, { user: uid }, now),

    /** What a turn used, against today's budget. */
    async charge(uid: string, tokens: number, now = Date.now()): Promise<void> {
      if (tokens > 0) await limits.add(TOKENS, { user: uid }, tokens, now);
    },
  };
}

export type ChatLimits = ReturnType<typeof chatLimits>;
