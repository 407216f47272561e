/**
 * Surveys and their answers, in the product's words. Domain only: callers pass identities
 * and validated input, and get records or domain errors back; the store holds the table.
 *
 *   owner ── open ──────> SURVEY#id/META  (+ USER#uid/OPEN_SURVEY pointer: one per owner)
 *   friend ─ answer ────> SURVEY#id/ANSWER#hmac  + META.answerCount += 1
 *                         + RATE# counters (per IP, per survey)             (one transaction)
 *                         then the count copied onto USER#uid/OPEN_SURVEY (the persona page's one read)
 *   friend ─ withdraw ──> ANSWER#hmac content removed (tombstone) + META.answerCount −= 1 (then copied too)
 *   owner ── saveSelf ──> SURVEY#id/SELF        (guarded by a ConditionCheck on META)
 *   owner ── summary ───> the latest published round (ROUND#n) only
 *   owner ── close ─────> META.status = closed (no more answers; withdrawals, rounds, the summary stay)
 *   owner ── reopen ────> a new open survey (new round of asking, new link) after the closed one
 *   owner ── delete ────> META.status = deleted at once; `forget` removes every item
 *                         (the lifecycle domain drives it, in the background when large)
 *
 *   Rounds: every answer or withdrawal is a change; the flow that makes a change publishes a
 *   new round (ROUND#n+1, the aggregates of exactly the answers stored then) once 3 or more
 *   changes wait and rounds.ts allows it. The summary, and through `material` the persona's
 *   card and chemistry, only ever show a round.
 */
import { randomBytes } from "node:crypto";
import type { Config } from "../config.ts";
import { fingerprintHash, ipPseudonym } from "../data/pseudonym.ts";
import type { RateLimits } from "../data/rate-limit.ts";
import type { Table } from "../data/table.ts";
import { ConflictError, ForbiddenError, NotFoundError, NotReadyError } from "../errors.ts";
import { logger } from "../log.ts";
import { noMetrics, type Metrics } from "../ports/metrics.ts";
import { aggregate, johariWindow, MIN_ANSWERS_FOR_AGGREGATES, quotedTexts, type Aggregates } from "./aggregate.ts";
import { QUESTION_SET_VERSION, type FriendAnswerInput, type SelfAnswerInput } from "./questions.ts";
import { surveyLifeOn } from "./lifecycle.ts";
import { newReceipt, readReceipt, sameHash } from "./receipts.ts";
import { mayPublish, ROUND_CHANGES } from "./rounds.ts";
import { NO_SUCH_ANSWER, NO_SUCH_SURVEY, type Survey } from "./model.ts";
import { surveyStore, type PublishedRound } from "./store.ts";

export type { Survey } from "./model.ts";

export type SurveySettings = Pick<Config, "answersPerIpPerHour" | "answersPerSurveyPerMinute">;

export interface SurveySummary {
  /** Answers in the published round shown. */
  answer_count: number;
  answers_needed: number;
  /** The published round shown (0: none yet). */
  round: number;
  /** Answers added or withdrawn since that round: they show with the next one. */
  changes_waiting: number;
  /** Null until a round of enough answers that no single one can be singled out. */
  aggregates: Aggregates | null;
}

export { NO_SUCH_ANSWER, NO_SUCH_SURVEY } from "./model.ts";

/** Changes since the latest round; a survey from before rounds with answers has one due. */
const waiting = (s: Survey) => (s.changes ?? 0) - (s.publishedAtChange ?? 0);
const roundDue = (s: Survey) =>
  waiting(s) >= ROUND_CHANGES || (s.publishedRound === undefined && s.answerCount >= MIN_ANSWERS_FOR_AGGREGATES);

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

  /**
   * Publishes the next round if one is due and rounds.ts allows it; returns the survey as it
   * is now. Called by the flow that made a change, and by readers that find one due (a flow
   * that failed after its change): publishing twice is refused by the store's condition.
   */
  async function publishIfDue(surveyId: string, known?: Survey): Promise<Survey | undefined> {
    const survey = known ?? (await store.find(surveyId, { consistent: true }));
    if (!survey || !roundDue(survey)) return survey;
    const { answers, rounds } = await store.roundMaterial(surveyId);
    const members = answers.map((a) => a.id);
    const refused = mayPublish(
      rounds.map((r) => r.members),
      members,
    );
    if (refused) {
      logger.info("round not published yet", { survey_id: surveyId, reason: refused, changes_waiting: waiting(survey) });
      return survey;
    }
    const { johari: _none, ...aggregates } = aggregate(answers.map((a) => a.answers));
    const round: PublishedRound = {
      round: (survey.publishedRound ?? 0) + 1,
      members,
      answerCount: members.length,
      aggregates: members.length > 0 ? aggregates : null,
      publishedAt: new Date().toISOString(),
    };
    // Refused: another flow published this round first (and counted it).
    if (await store.publishRound(surveyId, round, { previous: survey.publishedRound ?? 0, changes: survey.changes ?? 0 }))
      metrics.record("SurveyRoundsPublished");
    return store.find(surveyId, { consistent: true });
  }

  /**
   * A change is stored whatever happens next: a failed publication waits for the next change
   * or read. Beside the round, the new count goes onto the owner's pointer (what the persona
   * page reads); a failed copy is made good by the next change's.
   */
  async function afterChange(surveyId: string): Promise<Survey | undefined> {
    try {
      const survey = await store.find(surveyId, { consistent: true });
      if (!survey) return undefined;
      const [now] = await Promise.all([
        publishIfDue(surveyId, survey),
        store.copyCountToPointer(survey).catch((error: Error) => {
          logger.warn("answer count not copied to the owner's pointer; the next change copies it", {
            survey_id: surveyId,
            error: error.name,
          });
        }),
      ]);
      return now;
    } catch (error) {
      logger.warn("round publication failed; the next change or read retries it", { survey_id: surveyId, error: (error as Error).name });
      return undefined;
    }
  }

  /** The latest round with aggregates, and the Johari window from the owner's picks of today. */
  async function shownRound(surveyId: string, survey: Survey) {
    const [round, self] = await Promise.all([
      survey.publishedRound ? store.round(surveyId, survey.publishedRound) : undefined,
      store.selfOf(surveyId),
    ]);
    if (!round?.aggregates) return { round, aggregates: null };
    const picked = round.aggregates.adjectives.map((a) => a.adjective);
    const aggregates: Aggregates = { ...round.aggregates, johari: self ? johariWindow(self.answers.adjectives, picked) : null };
    return { round, aggregates };
  }

  /** What the owner sees of `survey`: its latest published round (one due is published first). */
  async function summaryOf(known: Survey): Promise<SurveySummary> {
    const survey = roundDue(known) ? ((await publishIfDue(known.surveyId, known)) ?? known) : known;
    const { round, aggregates } = await shownRound(survey.surveyId, survey);
    return {
      answer_count: round?.answerCount ?? 0,
      answers_needed: aggregates ? 0 : Math.max(0, MIN_ANSWERS_FOR_AGGREGATES - survey.answerCount),
      round: survey.publishedRound ?? 0,
      changes_waiting: waiting(survey),
      aggregates,
    };
  }

  return {
    /** The owner's open survey: created on first call, the same one on every later call. */
    open(owner: { uid: string; name?: string }): Promise<{ surveyId: string; created: boolean }> {
      return store.openFor(owner, randomBytes(16).toString("base64url"), QUESTION_SET_VERSION);
    },

    /** A survey as friends may see it: open or closed; one being deleted is gone already. */
    async get(surveyId: string): Promise<Survey & { status: "open" | "closed" }> {
      const survey = await store.find(surveyId);
      if (!survey || survey.status === "deleted") throw new NotFoundError(NO_SUCH_SURVEY);
      return { ...survey, status: survey.status };
    },

    /** The user's current survey (open, or closed until reopened) and its answer count, or undefined when they have none. */
    async openOf(uid: string): Promise<Survey | undefined> {
      const survey = await store.openOf(uid);
      return survey?.status === "deleted" ? undefined : survey;
    },

    /** `openOf` when the pointer was read already (with the persona, in one request): the survey it names. */
    async currentById(surveyId: string): Promise<Survey | undefined> {
      const survey = await store.find(surveyId, { consistent: true });
      return survey?.status === "deleted" ? undefined : survey;
    },

    /**
     * Stores one friend's answer: one transaction of the answer, the survey's count and both
     * rate-limit counters (per client IP per survey per hour, per survey per minute), so a
     * refused answer (no survey 404, the owner 403, a limit 429, a duplicate 409) writes
     * nothing and uses up no one's allowance.
     */
    async answer(
      surveyId: string,
      input: FriendAnswerInput,
      from: { ip: string; callerUid?: string },
      now = Date.now(),
    ): Promise<{ receipt: string }> {
      const increments = [
        limits.increment(
          { scope: "answer-ip", name: "answers_per_ip", limit: settings.answersPerIpPerHour, windowSeconds: 3600 },
          { survey: surveyId, ip: ipPseudonym(from.ip) },
          now,
        ),
        limits.increment(
          { scope: "answer-survey", name: "answers_per_survey", limit: settings.answersPerSurveyPerMinute, windowSeconds: 60 },
          { survey: surveyId },
          now,
        ),
      ].filter((increment) => increment !== undefined);
      const answerId = fingerprintHash(surveyId, input.fingerprint);
      const receipt = newReceipt(answerId);
      const answer = {
        fingerprintHash: answerId,
        questionSet: input.question_set,
        answers: input.answers,
        createdAt: new Date(now).toISOString(),
        receiptHash: receipt.hash,
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
        case "closed":
          throw new ConflictError("This survey is closed and takes no more answers", "survey_closed");
        case "limit":
          metrics.record("SurveyAnswers", 1, { outcome: "rate_limited" });
          throw refusal.limit.refused();
        case "duplicate":
          metrics.record("SurveyAnswers", 1, { outcome: "duplicate" });
          throw new ConflictError("This survey already has your answer", "duplicate_answer");
      }
      // Strongly consistent inside: the survey as this answer (and any round it completed) left it.
      const survey = await afterChange(surveyId);
      if (survey && hooks.afterAnswer) await hooks.afterAnswer(survey);
      return { receipt: receipt.receipt };
    },

    /**
     * Withdraws the answer a receipt names: its content is deleted at once (a tombstone keeps
     * its key, so the device cannot answer again); what the owner sees follows by rounds. A
     * wrong, spent or malformed receipt is the same NotFoundError as an unknown answer.
     */
    async withdraw(surveyId: string, receipt: string): Promise<void> {
      const claimed = readReceipt(receipt);
      const stored = claimed ? await store.receiptOf(surveyId, claimed.answerId) : undefined;
      if (!claimed || !stored || !sameHash(stored, claimed.hash)) throw new NotFoundError(NO_SUCH_ANSWER);
      if (!(await store.withdrawAnswer(surveyId, claimed.answerId, stored))) throw new NotFoundError(NO_SUCH_ANSWER);
      metrics.record("SurveyAnswersWithdrawn");
      await afterChange(surveyId);
    },

    /** The owner's own picks, for the Johari window. Replaces any earlier ones; others' surveys are 404. */
    async saveSelf(surveyId: string, ownerUid: string, input: SelfAnswerInput): Promise<SelfAnswerInput> {
      const refused = await store.saveSelf(surveyId, ownerUid, input);
      if (refused === "not_owner" || refused === "no_survey") throw new NotFoundError(NO_SUCH_SURVEY);
      return input;
    },

    /** The latest published round only, and how many changes wait for the next. Owner only. */
    async summary(surveyId: string, callerUid: string): Promise<SurveySummary> {
      const survey = await store.find(surveyId, { consistent: true });
      // Someone else's survey is private to them: it does not exist for the caller (404, never a 403).
      if (!survey || survey.ownerUid !== callerUid || survey.status === "deleted") throw new NotFoundError(NO_SUCH_SURVEY);
      return summaryOf(survey);
    },

    /**
     * What the persona saga is written from: the latest round's aggregates, and the
     * de-identified quotes of its answers not withdrawn since — never raw answers.
     */
    async material(surveyId: string) {
      let survey = await store.find(surveyId, { consistent: true });
      if (!survey || survey.status === "deleted") throw new NotFoundError(NO_SUCH_SURVEY);
      if (roundDue(survey)) survey = (await publishIfDue(surveyId, survey)) ?? survey;
      const { round, aggregates } = await shownRound(surveyId, survey);
      if (!round || !aggregates) throw new NotReadyError("No round of answers is published yet", "not_enough_answers");
      const members = new Set(round.members);
      const { answers } = await store.roundMaterial(surveyId);
      const texts = answers.filter((a) => members.has(a.id)).map((a) => a.answers);
      return { ownerName: survey.ownerName, aggregates, quotes: quotedTexts(texts, survey.ownerName ? [survey.ownerName] : []) };
    },

    ...surveyLifeOn(table, limits, summaryOf),

    /** The owner's new display name, on their open survey (friends see it there). */
    renameOwner: (ownerUid: string, name: string): Promise<void> => store.renameOwner(ownerUid, name),
  };
}

export type Surveys = ReturnType<typeof surveysOn>;
