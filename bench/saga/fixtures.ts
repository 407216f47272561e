/** Section 4's small pieces: the model's canned answers, owners' answers, timed requests. */
import { RATING_ITEMS } from "../../backend/surveys/questions.ts";
import { startFakeGemini, type Behaviour, type FakeGemini } from "../../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../../fixtures/model-fixtures.ts";
import { ascending, percentile } from "../lib/stats.ts";

/** The fake Gemini server answering every persona step (card, then portrait) after `delayMs`. */
export function slowModel(apiKey: string, delayMs: number): Promise<FakeGemini> {
  return startFakeGemini({
    apiKey,
    fallback: (request): Behaviour =>
      request.model.includes("image")
        ? { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png", delayMs }
        : { kind: "json", value: PERSONA_CARD, delayMs },
  });
}

export function friendAnswer(fingerprint: string) {
  return {
    fingerprint,
    answers: {
      adjectives: ["kind", "witty", "calm", "brave", "wise"],
      ratings: Object.fromEntries(RATING_ITEMS.map((item, i) => [item.id, ((i * 3) % 7) + 1])),
      texts: { strength: "Always the first to help." },
    },
  };
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function pool<T, R>(items: T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

export interface Timed {
  status: number;
  /** Request sent → whole body read. */
  ms: number;
  sagaId?: string;
}

export async function timed(url: string, init: RequestInit): Promise<Timed> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    const ms = performance.now() - t0;
    let sagaId: string | undefined;
    try {
      sagaId = (JSON.parse(text) as { saga_id?: string }).saga_id;
    } catch {
      // not JSON: the status says what happened
    }
    return { status: res.status, ms, sagaId };
  } catch {
    return { status: 0, ms: performance.now() - t0 };
  }
}

/** p50 / p99 / max of the accepted (202) requests. */
export function latency(requests: Timed[]): { p50: number; p99: number; max: number; accepted: number } {
  const sorted = ascending(requests.filter((r) => r.status === 202).map((r) => r.ms));
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, accepted: sorted.length };
}
