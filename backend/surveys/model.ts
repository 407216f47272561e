/**
 * A survey and a friend's answer as stored (item layout in store.ts), and what a request
 * naming one that does not exist is told. Types and messages only: surveys/store.ts reads
 * and writes them, the rules in surveys.ts use them.
 */
import type { Increment } from "../data/rate-limit.ts";
import type { Answers } from "./questions.ts";

export interface Survey {
  surveyId: string;
  ownerUid: string;
  ownerName?: string;
  questionSet: string;
  status: SurveyStatus;
  /** Answers stored and not withdrawn. */
  answerCount: number;
  createdAt: string;
  /** Answers added plus answers withdrawn, ever (absent on surveys from before rounds). */
  changes?: number;
  /** The latest published round (absent: none yet), its answer count, and `changes` then. */
  publishedRound?: number;
  publishedCount?: number;
  publishedAtChange?: number;
  /** The survey this one opened a new round of asking after (`reopen`). */
  previousSurveyId?: string;
}

/** `closed`: no more answers (withdrawals still work); `deleted`: hidden at once, its items removed in the background (lifecycle). */
export type SurveyStatus = "open" | "closed" | "deleted";

/** What a request naming a survey that does not exist (or cannot exist) is told. */
export const NO_SUCH_SURVEY = "No such survey";
/** A wrong, spent or malformed receipt, and an unknown answer, alike. */
export const NO_SUCH_ANSWER = "No such answer";

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
  | { refused: "closed" }
  | { refused: "limit"; limit: Increment }
  | { refused: "duplicate" };
