/**
 * Surveys and their answers, in the product's words. Domain only: callers pass identities
 * and validated input, and get records or domain errors back; the store holds the table.
 *
 *   owner ── open ──────> SURVEY#id/META  (+ USER#uid/OPEN_SURVEY pointer: one per owner)
 *   friend ─ answer ────> SURVEY#id/ANSWER#hmac  + META.answerCount += 1
 *                         + RATE# counters (per IP, per survey)             (one transaction)
 *   owner ── saveSelf ──> SURVEY#id/SELF        (guarded by a ConditionCheck on META)
 *   owner ── summary ───> one Query of SURVEY#id → aggregates from 3 answers on
 *   owner ── close ─────> META.status = closed (no more answers; the summary stays)
 *   owner ── reopen ────> a new open survey (new round, new link) after the closed one
 *   owner ── delete ────> META.status = deleted at once; `forget` removes every item
 *                         (the lifecycle domain drives it, in the background when large)
 */
import { randomBytes } from "node:crypto";
import type { Config } from "../config.ts";
import { fingerprintHash, ipPseudonym } from "../data/pseudonym.ts";
import type { Increment, RateLimits } from "../data/rate-limit.ts";
import type { Table } from "../data/table.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.ts";
import { aggregate, MIN_ANSWERS_FOR_AGGREGATES, quotedTexts, type Aggregates } from "./aggregate.ts";
import { QUESTION_SET_VERSION, type FriendAnswerInput, type SelfAnswerInput } from "./questions.ts";
import { surveyLifecycleStore, type OwnerRefusal } from "./lifecycle-store.ts";
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
export function surveysOn(table: Table, limits: RateLimits, settings: SurveySettings, hooks: SurveyHooks = {}) {
  const store = surveyStore(table);
  const life = surveyLifecycleStore(table);

  async function owned(surveyId: string, callerUid: string) {
    const items = await store.everything(surveyId);
    if (!items.meta || items.meta.status === "deleted") throw new NotFoundError(NO_SUCH_SURVEY);
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
      if (!survey || survey.status === "deleted") throw new NotFoundError(NO_SUCH_SURVEY);
      return survey;
    },

    /** The user's current survey (open, or closed until reopened) and its answer count, or undefined when they have none. */
    async openOf(uid: string): Promise<Survey | undefined> {
      const survey = await store.openOf(uid);
      return survey?.status === "deleted" ? undefined : survey;
    },

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
          { survey: surveyId, ip: ipPseudonym(from.ip) },
          now,
        ),
        limits.increment(
          { scope: "answer-survey", limit: settings.answersPerSurveyPerMinute, windowSeconds: 60 },
          { survey: surveyId },
          now,
        ),
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
          break;
        case "no_survey":
          throw new NotFoundError(NO_SUCH_SURVEY);
        case "own_survey":
          throw new ForbiddenError("You cannot answer your own survey here; use PUT /v1/surveys/:id/self");
        case "closed":
          throw new ConflictError("This survey is closed and takes no more answers", "survey_closed");
        case "limit":
          throw refusal.limit.refused();
        case "duplicate":
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
      if (!meta || meta.status === "deleted") throw new NotFoundError(NO_SUCH_SURVEY);
      return {
        ownerName: meta.ownerName,
        aggregates: aggregate(answers, self?.answers.adjectives),
        quotes: quotedTexts(answers, meta.ownerName ? [meta.ownerName] : []),
      };
    },

    /** Closes the owner's survey to new answers; its answers and summary stay. */
    async close(surveyId: string, ownerUid: string): Promise<void> {
      refuse(await life.close(surveyId, ownerUid));
    },

    /** A new round after the owner's closed current survey: a new open survey, returned. */
    async reopen(surveyId: string, owner: { uid: string; name?: string }): Promise<{ surveyId: string }> {
      const next = randomBytes(16).toString("base64url");
      refuse(await life.reopen(surveyId, owner, next, QUESTION_SET_VERSION));
      return { surveyId: next };
    },

    /** Hides the owner's survey at once, counted against `limit` (refused: nothing changes); `forget` then removes it. */
    async markDeleted(surveyId: string, ownerUid: string, limit?: Increment): Promise<void> {
      const refusal = await life.markDeleted(surveyId, ownerUid, limit);
      if (refusal === "limited") throw limit!.refused();
      refuse(refusal);
    },

    /** Every survey `uid` made. */
    idsOf: (uid: string): Promise<string[]> => life.idsOf(uid),

    /**
     * Removes up to `limit` items of the survey (its counters first, then its partition, the
     * owner's pointers last). `done` when nothing of it is left. Safe to run again.
     */
    async forget(surveyId: string, ownerUid: string, limit: number): Promise<{ deleted: number; done: boolean }> {
      const counters = await limits.forget({ survey: surveyId });
      const items = await life.forgetItems(surveyId, limit);
      if (!items.done) return { deleted: counters + items.deleted, done: false };
      await life.forgetPointers(ownerUid, surveyId);
      return { deleted: counters + items.deleted + 2, done: true };
    },

    /**
     * What an export holds of the owner's surveys: each survey's facts, the owner's own
     * answers and the aggregates the owner may see; never a friend's single answer.
     */
    async exportOf(uid: string) {
      const surveys = [];
      for (const surveyId of await life.idsOf(uid)) {
        const { meta, self, answers } = await store.everything(surveyId);
        if (!meta || meta.ownerUid !== uid || meta.status === "deleted") continue;
        const enough = answers.length >= MIN_ANSWERS_FOR_AGGREGATES;
        surveys.push({
          survey_id: meta.surveyId,
          status: meta.status,
          created_at: meta.createdAt,
          previous_survey_id: meta.previousSurveyId ?? null,
          answer_count: answers.length,
          self_answers: self?.answers ?? null,
          aggregates: enough ? aggregate(answers, self?.answers.adjectives) : null,
        });
      }
      return surveys;
    },

    /** The owner's new display name, on their open survey (friends see it there). */
    renameOwner: (ownerUid: string, name: string): Promise<void> => store.renameOwner(ownerUid, name),
  };
}

export type Surveys = ReturnType<typeof surveysOn>;

/** An owner's change refused: the same answers as the other owner-only routes. */
function refuse(refusal: OwnerRefusal | undefined): void {
  switch (refusal) {
    case undefined:
      return;
    case "no_survey":
      throw new NotFoundError(NO_SUCH_SURVEY);
    case "not_owner":
      throw new ForbiddenError("Only the survey's owner can do this");
    case "not_closed":
      throw new ConflictError("Close the survey before opening a new round", "survey_not_closed");
    case "not_current":
      throw new ConflictError("A newer round of this survey exists already", "survey_not_current");
  }
}
