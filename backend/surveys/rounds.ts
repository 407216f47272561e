/**
 * When a survey may publish a new round: the rule that keeps the owner's arithmetic from
 * isolating one friend (docs/privacy.md, "Anonymity that survives arithmetic"). Pure: the
 * caller passes the answers of every earlier round and of the candidate, by answer id.
 *
 * Everything the owner sees that derives from answers is a function of one round's answers;
 * what they can compute is, per trait and per adjective, the sum over each round's answers,
 * and any linear combination of those sums. So a round is published only if:
 *   1. it holds no answers or at least MIN_ANSWERS_FOR_AGGREGATES;
 *   2. it differs from the latest round by at least ROUND_CHANGES answers (added or withdrawn:
 *      an answer added and withdrawn between rounds counts for nothing);
 *   3. it differs from every earlier round by none or at least ROUND_CHANGES answers (the
 *      owner may compare any two views they ever saw, not only neighbours);
 *   4. no combination of all rounds' sums isolates one answer (or a handful that are always
 *      in the same rounds): no such unit vector lies in the row space of the rounds'
 *      membership matrix (withdrawals could otherwise line rounds up so that, say,
 *      R1 + R2 − R3 − R0 = 2·one answer, with every pair of rounds 3 apart).
 */
import { MIN_ANSWERS_FOR_AGGREGATES, type Aggregates } from "./aggregate.ts";

/** What the owner may see of a round: aggregates without the Johari window (that needs today's own picks). */
export type RoundAggregates = Omit<Aggregates, "johari">;

/** A published round as stored (`SURVEY#id/ROUND#n`). */
export interface PublishedRound {
  round: number;
  /** Ids (fingerprint HMACs) of exactly the answers the aggregates were computed from. */
  members: string[];
  answerCount: number;
  /** Null for a round without answers (every answer withdrawn). */
  aggregates: RoundAggregates | null;
  publishedAt: string;
}

/** Changes (answers added or withdrawn) a new round needs. */
export const ROUND_CHANGES = 3;

export type RoundRefusal = "too_few_answers" | "too_few_changes" | "too_close_to_an_earlier_round" | "would_isolate_an_answer";

function differenceSize(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  let size = 0;
  for (const x of a) if (!b.has(x)) size++;
  for (const x of b) if (!a.has(x)) size++;
  return size;
}

/**
 * Whether `candidate` may be published after `earlier` (oldest first), or why not.
 * @example mayPublish([["a", "b", "c"]], ["a", "b", "c", "d"]) // "too_few_changes"
 */
export function mayPublish(earlier: readonly (readonly string[])[], candidate: readonly string[]): RoundRefusal | undefined {
  const next = new Set(candidate);
  if (next.size > 0 && next.size < MIN_ANSWERS_FOR_AGGREGATES) return "too_few_answers";
  const rounds = earlier.map((r) => new Set(r));
  if (differenceSize(rounds.at(-1) ?? new Set(), next) < ROUND_CHANGES) return "too_few_changes";
  for (const round of rounds) {
    const size = differenceSize(round, next);
    if (size > 0 && size < ROUND_CHANGES) return "too_close_to_an_earlier_round";
  }
  // Earlier rounds passed this check when they were published, so their span isolates
  // nothing; a candidate with ROUND_CHANGES answers no round had cannot change that (any
  // combination using it carries all of them). Only rounds shaped by withdrawals need the
  // full check.
  const seen = new Set(rounds.flatMap((r) => [...r]));
  if ([...next].filter((x) => !seen.has(x)).length >= ROUND_CHANGES) return undefined;
  return isolatedAnswers([...earlier, candidate]).length > 0 ? "would_isolate_an_answer" : undefined;
}

/**
 * The answers whose values some combination of the rounds' sums reveals, alone or with fewer
 * than ROUND_CHANGES others. Answers that are in exactly the same rounds can never be told
 * apart, so they share a column; a unit vector in the row space shows as a row with one
 * non-zero entry after Gauss–Jordan elimination (exact: BigInt rows, each divided by its gcd).
 */
export function isolatedAnswers(rounds: readonly (readonly string[])[]): string[] {
  const groups = new Map<string, string[]>();
  for (const x of new Set(rounds.flat())) {
    const signature = rounds.map((r) => (r.includes(x) ? "1" : "0")).join("");
    groups.set(signature, [...(groups.get(signature) ?? []), x]);
  }
  const columns = [...groups.entries()];
  const rows: bigint[][] = rounds.map((_, r) => columns.map(([signature]) => (signature[r] === "1" ? 1n : 0n)));
  let rank = 0;
  for (let col = 0; col < columns.length && rank < rows.length; col++) {
    const pivotAt = rows.findIndex((row, i) => i >= rank && row[col] !== 0n);
    if (pivotAt === -1) continue;
    [rows[rank], rows[pivotAt]] = [rows[pivotAt]!, rows[rank]!];
    const pivot = rows[rank]!;
    for (let i = 0; i < rows.length; i++) {
      const factor = rows[i]![col]!;
      if (i !== rank && factor !== 0n) rows[i] = reduced(rows[i]!.map((x, k) => x * pivot[col]! - factor * pivot[k]!));
    }
    rank++;
  }
  return rows
    .slice(0, rank)
    .filter((row) => row.filter((x) => x !== 0n).length === 1)
    .map((row) => columns[row.findIndex((x) => x !== 0n)]![1])
    .filter((members) => members.length < ROUND_CHANGES)
    .flat();
}

function reduced(row: bigint[]): bigint[] {
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? (a < 0n ? -a : a) : gcd(b, a % b));
  const g = row.reduce((acc, x) => gcd(acc, x), 0n);
  return g > 1n ? row.map((x) => x / g) : row;
}
