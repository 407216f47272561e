/**
 * The curious owner's differencing attack on the survey summary (issue 14): read the summary
 * before and after a change, take `n_after · mean_after − n_before · mean_before` per trait and
 * the change in each adjective's count, divide by the change in the answer count, and call the
 * result "the answer that changed". Against a summary that moves with every answer this
 * recovers that friend's exact trait scores and adjectives.
 */
import { traitScores } from "../../backend/surveys/aggregate.ts";
import { ADJECTIVES, RATING_ITEMS, TRAITS, type Adjective, type Answers, type Trait } from "../../backend/surveys/questions.ts";

/** What the attack reads from `GET /v1/surveys/:id/summary`. */
export interface SummaryView {
  answer_count: number;
  aggregates: {
    traits: Record<Trait, { mean: number }>;
    adjectives: { adjective: string; count: number }[];
  } | null;
}

export interface Recovered {
  traits: Record<Trait, number>;
  adjectives: string[];
}

/** The attack on two views; undefined when it has nothing to work on (no aggregates, same count). */
export function recover(before: SummaryView, after: SummaryView): Recovered | undefined {
  const changed = after.answer_count - before.answer_count;
  if (!before.aggregates || !after.aggregates || changed === 0) return undefined;
  const count = (view: SummaryView, adjective: string) => view.aggregates!.adjectives.find((a) => a.adjective === adjective)?.count ?? 0;
  const traits = Object.fromEntries(
    TRAITS.map((t) => {
      const sum = after.answer_count * after.aggregates!.traits[t].mean - before.answer_count * before.aggregates!.traits[t].mean;
      // One person's trait score is a mean of two 1–7 items: a multiple of 0.5.
      return [t, Math.round((sum / changed) * 2) / 2];
    }),
  ) as Record<Trait, number>;
  const adjectives = ADJECTIVES.filter((adj) => (count(after, adj) - count(before, adj)) / changed === 1);
  return { traits, adjectives };
}

/** Whether the attack's result is exactly this friend's answer (all five traits and the adjectives). */
export function isExactly(recovered: Recovered, answer: Answers): boolean {
  const scores = traitScores(answer.ratings);
  return (
    TRAITS.every((t) => recovered.traits[t] === scores[t]) &&
    recovered.adjectives.length === answer.adjectives.length &&
    answer.adjectives.every((a) => recovered.adjectives.includes(a))
  );
}

/** Deterministic, varied friends' answers (mulberry32), so a run can be repeated exactly. */
export function friendsAnswers(count: number, seed: number): Answers[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => {
    const adjectives = new Set<Adjective>();
    while (adjectives.size < 5) adjectives.add(ADJECTIVES[Math.floor(random() * ADJECTIVES.length)]!);
    const ratings = Object.fromEntries(RATING_ITEMS.map((item) => [item.id, 1 + Math.floor(random() * 7)])) as Answers["ratings"];
    return { adjectives: [...adjectives], ratings, texts: {} };
  });
}
