/**
 * Surveys and their answers, in the product's words. Domain only: callers pass identities
 * and validated input, and get records or domain errors back; the store holds the table.
 *
 *   owner ── open ──────> SURVEY#id/META  (+ USER#uid/OPEN_SURVEY pointer: one per owner)
 *   friend ─ answer ────> SURVEY#id/ANSWER#hmac  + META.answerCount += 1
 *                         + RATE# counters (per IP, per survey)             (one transaction)
 *   owner ── saveSelf ──> SURVEY#id/SELF        (guarded by a ConditionCheck on META)
 *   owner ── summary ───> one Query of SURVEY#id → aggregates from 3 answers on
 */
import { randomBytes } from "node:crypto";
import type { Config } from "../config.ts";
import { fingerprintHash, ipPseudonym } from "../data/pseudonym.ts";
import type { RateLimits } from "../data/rate-limit.ts";
import type { Table } from "../data/table.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.ts";
import { noMetrics, type Metrics } from "../ports/metrics.ts";
import { aggregate, MIN_ANSWERS_FOR_AGGREGATES, quotedTexts, type Aggregates } from "./aggregate.ts";
import { QUESTION_SET_VERSION, type FriendAnswerInput, type SelfAnswerInput } from "./questions.ts";
import { surveyStore, type Survey } from "./store.ts";

export type { Survey } from "./store.ts";

export type SurveySettings = Pick<Config, "answersPerIpPerHour" | "answersPerSurveyPerMinute">;

export interface SurveySummary {
  answer_count: number;
  answers_needed: number;
  /** Null until there are enough answers that no single one can be singled out. */
  aggregates: Aggregates | null;
}

/** What a request naming a survey that does not exist (or cannot exist) is told. */
export const NO_SUCH_SURVEY = "No such survey";

export interface SurveyHooks {
  /** After an answer is stored, with the survey as it is now (the persona's automatic start). */
  afterAnswer?: (survey: Survey) => Promise<void>;
}

/**
 * The survey domain bound to its table and limits.
 * @example const surveys = surveysOn(table, limits, config);
 */
export function surveysOn(
  table: Table,
  limits: RateLimits,
  settings: SurveySettings,
  hooks: SurveyHooks = {},
  metrics: Metrics = noMetrics,
) {
  const store = surveyStore(table);

  async function owned(surveyId: string, callerUid: string) {
    const items = await store.everything(surveyId);
    if (!items.meta) throw new NotFoundError(NO_SUCH_SURVEY);
    if (items.meta.ownerUid !== callerUid) throw new ForbiddenError("Only the survey's owner can see its summary");
    return items;
  }

  return {
    /** The owner's open survey: created on first call, the same one on every later call. */
    open(owner: { uid: string; name?: string }): Promise<{ surveyId: string; created: boolean }> {
      return store.openFor(owner, randomBytes(16).toString("base64url"), QUESTION_SET_VERSION);
    },

    async get(surveyId: string): Promise<Survey> {
      const survey = await store.find(surveyId);
      if (!survey) throw new NotFoundError(NO_SUCH_SURVEY);
      return survey;
    },

    /** The user's open survey and its answer count, or undefined when they have none. */
    openOf: (uid: string): Promise<Survey | undefined> => store.openOf(uid),

    /**
     * Stores one friend's answer: one transaction of the answer, the survey's count and both
     * rate-limit counters (per client IP per survey per hour, per survey per minute), so a
     * refused answer (no survey 404, the owner 403, a limit 429, a duplicate 409) writes
     * nothing and uses up no one's allowance.
     */
    async answer(surveyId: string, input: FriendAnswerInput, from: { ip: string; callerUid?: string }, now = Date.now()): Promise<void> {
      const increments = [
        limits.increment(
          { scope: "answer-ip", limit: settings.answersPerIpPerHour, windowSeconds: 3600 },
          `${surveyId}:${ipPseudonym(from.ip)}`,
          now,
        ),
        limits.increment({ scope: "answer-survey", limit: settings.answersPerSurveyPerMinute, windowSeconds: 60 }, surveyId, now),
      ].filter((increment) => increment !== undefined);
      const answer = {
        fingerprintHash: fingerprintHash(surveyId, input.fingerprint),
        questionSet: input.question_set,
        answers: input.answers,
        createdAt: new Date(now).toISOString(),
      };
      const refusal = await store.addAnswer(surveyId, answer, increments, from.callerUid);
      switch (refusal?.refused) {
        case undefined:
          metrics.record("SurveyAnswers", 1, { outcome: "accepted" });
          break;
        case "no_survey":
          throw new NotFoundError(NO_SUCH_SURVEY);
        case "own_survey":
          throw new ForbiddenError("You cannot answer your own survey here; use PUT /v1/surveys/:id/self");
        case "limit":
          metrics.record("SurveyAnswers", 1, { outcome: "rate_limited" });
          throw refusal.limit.refused();
        case "duplicate":
          metrics.record("SurveyAnswers", 1, { outcome: "duplicate" });
          throw new ConflictError("This survey already has your answer", "duplicate_answer");
      }
      if (hooks.afterAnswer) {
        // Strongly consistent: the count must include the answer just stored.
        const survey = await store.find(surveyId, { consistent: true });
        if (survey) await hooks.afterAnswer(survey);
      }
    },

    /** The owner's own picks, for the Johari window. Replaces any earlier ones. */
    async saveSelf(surveyId: string, ownerUid: string, input: SelfAnswerInput): Promise<void> {
      const refused = await store.saveSelf(surveyId, ownerUid, input);
      if (refused === "not_owner") throw new ForbiddenError("Only the survey's owner can do this");
      if (refused === "no_survey") throw new NotFoundError(NO_SUCH_SURVEY);
    },

    /** Counts always; aggregates only from MIN_ANSWERS_FOR_AGGREGATES answers on. Owner only. */
    async summary(surveyId: string, callerUid: string): Promise<SurveySummary> {
      const { self, answers } = await owned(surveyId, callerUid);
      const enough = answers.length >= MIN_ANSWERS_FOR_AGGREGATES;
      return {
        answer_count: answers.length,
        answers_needed: Math.max(0, MIN_ANSWERS_FOR_AGGREGATES - answers.length),
        aggregates: enough ? aggregate(answers, self?.answers.adjectives) : null,
      };
    },

    /** What the persona saga is written from: aggregates and de-identified quotes, never raw answers. */
    async material(surveyId: string) {
      const { meta, self, answers } = await store.everything(surveyId);
      if (!meta) throw new NotFoundError(NO_SUCH_SURVEY);
      return {
        ownerName: meta.ownerName,
        aggregates: aggregate(answers, self?.answers.adjectives),
        quotes: quotedTexts(answers, meta.ownerName ? [meta.ownerName] : []),
      };
    },

    /** The owner's new display name, on their open survey (friends see it there). */
    renameOwner: (ownerUid: string, name: string): Promise<void> => store.renameOwner(ownerUid, name),
  };
}

export type Surveys = ReturnType<typeof surveysOn>;
