/**
 * A survey and a friend's answer as stored (item layout in store.ts). Types only:
 * surveys/store.ts reads and writes them, the rules in surveys.ts use them.
 */
import type { Increment } from "../data/rate-limit.ts";
import type { Answers } from "./questions.ts";

export interface Survey {
  surveyId: string;
  ownerUid: string;
  ownerName?: string;
  questionSet: string;
  status: "open";
  /** Answers stored and not withdrawn. */
  answerCount: number;
  createdAt: string;
  /** Answers added plus answers withdrawn, ever (absent on surveys from before rounds). */
  changes?: number;
  /** The latest published round (absent: none yet), its answer count, and `changes` then. */
  publishedRound?: number;
  publishedCount?: number;
  publishedAtChange?: number;
}

export interface StoredAnswer {
  fingerprintHash: string;
  questionSet: string;
  answers: Answers;
  createdAt: string;
  /** SHA-256 of the receipt's secret part: the receipt itself is shown once and never stored. */
  receiptHash: string;
}

/** Why an answer was not stored, in the order a client should hear it. */
export type AnswerRefusal =
  | { refused: "no_survey" }
  | { refused: "own_survey" }
  | { refused: "limit"; limit: Increment }
  | { refused: "duplicate" };
