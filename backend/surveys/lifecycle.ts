/**
 * A survey's life in the owner's hands: close it, open a new round of asking after it,
 * delete it (hidden at once; `forget` removes its items, driven by the lifecycle domain),
 * and what an export holds of the owner's surveys. Part of the survey domain (surveys.ts
 * spreads it in); only the survey stores touch the table.
 */
import { randomBytes } from "node:crypto";
import type { Increment, RateLimits } from "../data/rate-limit.ts";
import type { Table } from "../data/table.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { surveyLifecycleStore, type OwnerRefusal } from "./lifecycle-store.ts";
import { NO_SUCH_SURVEY, type Survey } from "./model.ts";
import { QUESTION_SET_VERSION } from "./questions.ts";
import { surveyStore } from "./store.ts";
import type { SurveySummary } from "./surveys.ts";

/** `summaryOf`: what the owner sees of a survey (the survey domain's rounds rule). */
export function surveyLifeOn(table: Table, limits: RateLimits, summaryOf: (survey: Survey) => Promise<SurveySummary>) {
  const store = surveyStore(table);
  const life = surveyLifecycleStore(table);
  return {
    /** Closes the owner's survey to new answers; withdrawals, rounds and the summary go on. */
    async close(surveyId: string, ownerUid: string): Promise<void> {
      refuse(await life.close(surveyId, ownerUid));
    },

    /** A new round of asking after the owner's closed current survey: a new open survey, returned. */
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
     * Removes up to `limit` items of the survey (its counters first, then its partition:
     * META, answers and their receipt hashes, tombstones, the self answer, published rounds;
     * the owner's pointers last). `done` when nothing of it is left. Safe to run again.
     */
    async forget(surveyId: string, ownerUid: string, limit: number): Promise<{ deleted: number; done: boolean }> {
      const counters = await limits.forget({ survey: surveyId });
      const items = await life.forgetItems(surveyId, limit);
      if (!items.done) return { deleted: counters + items.deleted, done: false };
      await life.forgetPointers(ownerUid, surveyId);
      return { deleted: counters + items.deleted + 2, done: true };
    },

    /**
     * What an export holds of the owner's surveys: each survey's facts, the owner's own picks
     * and what the owner may see (the latest published round, as the summary shows it);
     * never a friend's single answer.
     */
    async exportOf(uid: string) {
      const surveys = [];
      for (const surveyId of await life.idsOf(uid)) {
        const survey = await store.find(surveyId, { consistent: true });
        if (!survey || survey.ownerUid !== uid || survey.status === "deleted") continue;
        const [summary, self] = await Promise.all([summaryOf(survey), store.selfOf(surveyId)]);
        surveys.push({
          survey_id: survey.surveyId,
          status: survey.status,
          created_at: survey.createdAt,
          previous_survey_id: survey.previousSurveyId ?? null,
          self_answers: self ? { adjectives: self.answers.adjectives, ratings: self.answers.ratings ?? null } : null,
          summary,
        });
      }
      return surveys;
    },
  };
}

/** An owner's change refused: the same answers as the other owner-only routes (someone else's survey is 404). */
function refuse(refusal: OwnerRefusal | undefined): void {
  switch (refusal) {
    case undefined:
      return;
    case "no_survey":
    case "not_owner":
      throw new NotFoundError(NO_SUCH_SURVEY);
    case "not_closed":
      throw new ConflictError("Close the survey before opening a new round", "survey_not_closed");
    case "not_current":
      throw new ConflictError("A newer round of this survey exists already", "survey_not_current");
  }
}
