/**
 * Deterministic aggregation of a survey's answers: pure functions, no I/O. The output
 * never exposes one person's answer: traits are means and spreads, adjectives are counts,
 * and free text is kept only as de-identified quoted data for the saga.
 */
import { ADJECTIVES, RATING_ITEMS, RATING_MAX, TRAITS, type Adjective, type Answers, type Trait } from "./questions.ts";
import { scrubText } from "./scrub.ts";

/** Aggregates are shown only from this many answers on (fewer could identify a friend). */
export const MIN_ANSWERS_FOR_AGGREGATES = 3;

export interface TraitScore {
  /** Mean of the friends' trait scores on the 1–7 scale, two decimals. */
  mean: number;
  /** Population standard deviation across friends: how much they agree. */
  spread: number;
}

export interface JohariWindow {
  /** Seen by the owner and by friends. */
  arena: Adjective[];
  /** Seen by friends only. */
  blind_spot: Adjective[];
  /** Seen by the owner only. */
  facade: Adjective[];
  /** Seen by nobody. */
  unknown: Adjective[];
}

export interface Aggregates {
  answer_count: number;
  traits: Record<Trait, TraitScore>;
  adjectives: { adjective: Adjective; count: number }[];
  /** Null until the owner has picked their own adjectives. */
  johari: JohariWindow | null;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** One person's score per trait: the mean of its two items, reverse-keyed ones flipped. */
export function traitScores(ratings: Answers["ratings"]): Record<Trait, number> {
  const sums = Object.fromEntries(TRAITS.map((t) => [t, 0])) as Record<Trait, number>;
  for (const item of RATING_ITEMS) {
    const value = ratings[item.id];
    sums[item.trait] += item.reversed ? RATING_MAX + 1 - value : value;
  }
  return Object.fromEntries(TRAITS.map((t) => [t, sums[t] / 2])) as Record<Trait, number>;
}

function meanAndSpread(values: number[]): TraitScore {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean: round2(mean), spread: round2(Math.sqrt(variance)) };
}

export function adjectiveCounts(answers: Answers[]): { adjective: Adjective; count: number }[] {
  const counts = new Map<Adjective, number>();
  for (const a of answers) for (const adj of a.adjectives) counts.set(adj, (counts.get(adj) ?? 0) + 1);
  // Most picked first; ties in the question set's order, so the output is deterministic.
  return ADJECTIVES.filter((adj) => counts.has(adj))
    .map((adjective) => ({ adjective, count: counts.get(adjective)! }))
    .sort((a, b) => b.count - a.count);
}

export function johariWindow(self: readonly Adjective[], friends: Iterable<Adjective>): JohariWindow {
  const mine = new Set(self);
  const theirs = new Set(friends);
  const window: JohariWindow = { arena: [], blind_spot: [], facade: [], unknown: [] };
  for (const adj of ADJECTIVES) {
    if (mine.has(adj) && theirs.has(adj)) window.arena.push(adj);
    else if (theirs.has(adj)) window.blind_spot.push(adj);
    else if (mine.has(adj)) window.facade.push(adj);
    else window.unknown.push(adj);
  }
  return window;
}

export function aggregate(answers: Answers[], selfAdjectives?: readonly Adjective[]): Aggregates {
  const scores = answers.map((a) => traitScores(a.ratings));
  const adjectives = adjectiveCounts(answers);
  return {
    answer_count: answers.length,
    traits: Object.fromEntries(TRAITS.map((t) => [t, meanAndSpread(scores.map((s) => s[t]))])) as Record<Trait, TraitScore>,
    adjectives,
    johari: selfAdjectives
      ? johariWindow(
          selfAdjectives,
          adjectives.map((a) => a.adjective),
        )
      : null,
  };
}

/**
 * Friends' free text for the saga, de-identified and shuffled out of answer order so a
 * quote cannot be lined up with the rest of its author's answer. Deterministic: sorted.
 */
export function quotedTexts(answers: Answers[], ownerNames: string[]): Record<string, string[]> {
  const quotes: Record<string, string[]> = {};
  for (const a of answers) {
    for (const [prompt, text] of Object.entries(a.texts ?? {})) {
      if (text) (quotes[prompt] ??= []).push(scrubText(text, ownerNames));
    }
  }
  for (const list of Object.values(quotes)) list.sort();
  return quotes;
}
