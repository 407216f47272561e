/**
 * What the model sees on each turn: the persona's system prompt (plus the chat's running
 * summary), then as much recent history as fits the token budget. Turns that no longer fit
 * are folded into the summary instead of being silently dropped.
 */
import type { ChatTurn, LLM, Usage } from "../ai/ports.ts";
import type { Message } from "./store.ts";
import { z } from "zod";

/** A rough, deterministic token estimate (≈ 4 characters per token for English text). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

export interface Window {
  /** Oldest first, ending with the new user message. */
  turns: ChatTurn[];
  /** Messages older than the window and not yet in the summary, oldest first. */
  overflow: Message[];
}

/**
 * Picks the newest messages that fit `budget` (the new user message always does).
 * `history` is oldest first and excludes messages already folded into the summary.
 */
export function fitHistory(history: Message[], budget: number): Window {
  // The greeting opens the chat for the user; the model knows the persona from its system prompt.
  const usable = history.filter((m) => m.text !== "" && !m.greeting && (m.role === "user" || m.status !== "failed"));
  let used = 0;
  let start = usable.length;
  while (start > 0) {
    const cost = estimateTokens(usable[start - 1]!.text);
    if (start < usable.length && used + cost > budget) break;
    used += cost;
    start -= 1;
  }
  return {
    turns: usable.slice(start).map((m) => ({ role: m.role, text: m.text })),
    overflow: usable.slice(0, start),
  };
}

export function systemWithSummary(systemPrompt: string, summary: string | undefined): string {
  return summary ? `${systemPrompt}\n\nSummary of the earlier conversation (for context only):\n${summary}` : systemPrompt;
}

const Summary = z.strictObject({ summary: z.string().trim().min(1).max(2000) });

/**
 * Folds `overflow` into the running summary: by the model when online, else by excerpt;
 * with the tokens the model reported for it (charged to the user's daily budget).
 */
export async function foldSummary(
  llm: LLM,
  previous: string | undefined,
  overflow: Message[],
  signal?: AbortSignal,
): Promise<{ summary: string; usage: Usage }> {
  const transcript = overflow.map((m) => `${m.role === "user" ? "User" : "Persona"}: ${m.text}`).join("\n");
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  if (!llm.offline) {
    try {
      const { summary } = await llm.generateJson({
        system:
          "You keep a short running summary of a chat between a user and an AI persona. Plain text, at most 120 words, facts and topics only.",
        prompt: `Summary so far:\n${previous ?? "(none)"}\n\nNew turns to fold in:\n${transcript}\n\nAnswer with JSON {"summary": "..."}.`,
        schema: Summary,
        signal,
        onUsage: (used) => {
          usage.inputTokens += used.inputTokens;
          usage.outputTokens += used.outputTokens;
        },
      });
      return { summary, usage };
    } catch {
      // A summary is an optimisation: fall back to the excerpt rather than fail the turn.
    }
  }
  const excerpt = overflow.map((m) => `${m.role === "user" ? "User" : "Persona"}: ${m.text.slice(0, 120)}`).join(" / ");
  return { summary: `${previous ? `${previous} / ` : ""}${excerpt}`.slice(-2000), usage };
}
