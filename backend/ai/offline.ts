/**
 * The providers used when no GEMINI_API_KEY is set: deterministic, no network, and labelled
 * `offline` so nobody mistakes their output for a model's. The persona domain has its own
 * offline writer and draws SVG portraits itself, so JSON and images are refused here.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { ModelUnavailableError, type ChatTurn, type ImageModel, type LLM, type TextStream, type Usage } from "./ports.ts";

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** The reply the offline persona gives: an acknowledgement of the last thing the user said. */
export function offlineReply(system: string, turns: ChatTurn[]): string {
  // The persona's name: in the chat prompt's PERSONA block, or a plain "You are …" prompt.
  const persona = (/"name": "([^"\n]{1,60})"/.exec(system) ?? /\bYou are ([^.,;:\n]{1,60})/.exec(system))?.[1]?.trim();
  const said =
    [...turns]
      .reverse()
      .find((turn) => turn.role === "user")
      ?.text.replace(/\s+/g, " ")
      .trim() ?? "";
  const quoted = said.length > 80 ? `${said.slice(0, 80)}…` : said;
  const intro = persona ? `${persona} here (offline).` : "Offline persona here.";
  return `${intro} You said: "${quoted}". I have no model to think with right now, so I can only echo it back.`;
}

export class OfflineLLM implements LLM {
  readonly name = "offline";
  readonly offline = true;

  streamText(req: { system: string; turns: ChatTurn[]; maxOutputTokens?: number; signal?: AbortSignal }): TextStream {
    const tokens = offlineReply(req.system, req.turns).match(/\s*\S+/g) ?? [];
    const inputTokens = words(req.system) + req.turns.reduce((sum, turn) => sum + words(turn.text), 0);
    let sent = 0;
    let finished!: (usage: Usage) => void;
    const usage = new Promise<Usage>((resolve) => (finished = resolve));
    async function* chunks(): AsyncGenerator<string> {
      try {
        for (const token of tokens.slice(0, req.maxOutputTokens ?? tokens.length)) {
          // A turn of the event loop per token, so a stop or an abort can land between them.
          await nextTurn();
          req.signal?.throwIfAborted();
          sent += 1;
          yield token;
        }
      } finally {
        finished({ inputTokens, outputTokens: sent });
      }
    }
    const iterator = chunks();
    return { [Symbol.asyncIterator]: () => iterator, usage: () => usage };
  }

  async generateJson(): Promise<never> {
    throw new ModelUnavailableError("offline provider cannot write JSON", { retryable: false });
  }
}

export class OfflineImageModel implements ImageModel {
  readonly name = "offline";
  readonly offline = true;

  async generateImage(): Promise<never> {
    throw new ModelUnavailableError("offline provider cannot draw images", { retryable: false });
  }
}
