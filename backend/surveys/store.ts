/**
 * Surveys and their answers on the single table. Every DynamoDB expression of the survey
 * domain lives here; the rules (surveys.ts) call these methods in the product's words.
 *
 *   USER#uid / OPEN_SURVEY   pointer to the owner's current survey (open, or closed until reopened), with a
 *                            copy of its answerCount and changes (the owner's persona page reads only this)
 *   USER#uid / SURVEY#id     pointer to every survey the owner made (deletion finds them all)
 *   SURVEY#id / META         owner, name, status, answer count, changes, the published round
 *   SURVEY#id / ANSWER#hmac  one friend's answer (hmac of survey id + fingerprint); after a
 *                            withdrawal a tombstone without content (the device answered)
 *   SURVEY#id / SELF         the owner's own picks
 *   SURVEY#id / ROUND#n      a published round: the aggregates of exactly its answers
 *
 * Closing, reopening and deleting a survey: lifecycle-store.ts.
 */
import { keys } from "../data/keys.ts";
import type { Increment } from "../data/rate-limit.ts";
import { cancellationReasons, isConditionFailed, type Table } from "../data/table.ts";
import type { AnswerRefusal, StoredAnswer, Survey } from "./model.ts";
import type { Answers, SelfAnswerInput } from "./questions.ts";
import type { PublishedRound } from "./rounds.ts";

export type { PublishedRound } from "./rounds.ts";

export const OPEN = "open";

/** What a new survey is made of; `previousSurveyId`: the survey it opens a new round of asking after (reopen). */
type NewSurvey = Pick<Survey, "surveyId" | "questionSet" | "createdAt" | "previousSurveyId">;

/** The new survey's items: its META, and the owner's pointer to it (one transaction's writes). */
export function newSurveyItems(owner: { uid: string; name?: string }, survey: NewSurvey) {
  const { surveyId, createdAt } = survey;
  const meta = { ...keys.survey(surveyId), ...survey, ownerUid: owner.uid, ownerName: owner.name, status: OPEN, answerCount: 0 };
  return [
    { Put: { Item: meta, ConditionExpression: "attribute_not_exists(PK)" } },
    { Put: { Item: { ...keys.ownSurvey(owner.uid, surveyId), surveyId, createdAt } } },
  ];
}

/** False when a condition cancelled the transaction (the caller's "not now"); anything else is thrown. */
function refusedByCondition(error: unknown): false {
  if (cancellationReasons(error)?.some((r) => r.code === "ConditionalCheckFailed")) return false;
  throw error;
}

export function surveyStore(table: Table) {
  return {
    /**
     * A new open survey for `owner`, unless they have one: then that one's id. One
     * transaction of the pointer (which must not exist) and the survey.
     */
    async openFor(
      owner: { uid: string; name?: string },
      surveyId: string,
      questionSet: string,
      now = new Date(),
    ): Promise<{ surveyId: string; created: boolean }> {
      const createdAt = now.toISOString();
      try {
        await table.transact([
          {
            Put: {
              Item: { ...keys.openSurvey(owner.uid), surveyId, createdAt, answerCount: 0, changes: 0 },
              ConditionExpression: "attribute_not_exists(PK)",
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            },
          },
          ...newSurveyItems(owner, { surveyId, questionSet, createdAt }),
        ]);
        return { surveyId, created: true };
      } catch (error) {
        const existing = cancellationReasons(error)?.[0]?.item?.surveyId;
        if (typeof existing === "string") return { surveyId: existing, created: false };
        throw error;
      }
    },

    find(surveyId: string, options: { consistent?: boolean } = {}): Promise<Survey | undefined> {
      return table.get<Survey>(keys.survey(surveyId), options);
    },

    /** The owner's open survey, read through their pointer. */
    async openOf(uid: string): Promise<Survey | undefined> {
      const pointer = await table.get<{ surveyId: string }>(keys.openSurvey(uid), { consistent: true });
      return pointer ? table.get<Survey>(keys.survey(pointer.surveyId), { consistent: true }) : undefined;
    },

    /**
     * One friend's answer, the survey's count and the rate-limit increments in one
     * transaction: a missing or closed survey, the owner answering, a breached limit or a
     * second answer with the same fingerprint cancels all of it. `undefined` when stored.
     */
    async addAnswer(surveyId: string, answer: StoredAnswer, limits: Increment[], callerUid?: string): Promise<AnswerRefusal | undefined> {
      const owner = callerUid === undefined ? {} : { ":caller": callerUid };
      try {
        await table.transact([
          {
            Update: {
              Key: keys.survey(surveyId),
              UpdateExpression: "ADD answerCount :one, changes :one",
              ConditionExpression: `attribute_exists(PK) AND #status = :open${callerUid === undefined ? "" : " AND ownerUid <> :caller"}`,
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":one": 1, ":open": OPEN, ...owner },
              // Tells "no such survey" from "your own survey" without a read first.
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            },
          },
          {
            Put: {
              Item: {
                ...keys.answer(surveyId, answer.fingerprintHash),
                questionSet: answer.questionSet,
                answers: answer.answers,
                createdAt: answer.createdAt,
                receiptHash: answer.receiptHash,
              },
              ConditionExpression: "attribute_not_exists(PK)",
            },
          },
          ...limits.map((limit) => limit.write),
        ]);
        return undefined;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        const failed = (i: number) => reasons[i]?.code === "ConditionalCheckFailed";
        if (failed(0)) {
          const meta = reasons[0]!.item;
          if (callerUid !== undefined && meta?.ownerUid === callerUid) return { refused: "own_survey" };
          return meta?.status === "closed" ? { refused: "closed" } : { refused: "no_survey" };
        }
        // A breached limit before a duplicate: past the limit a client learns nothing more.
        const breached = limits.findIndex((_, i) => failed(2 + i));
        if (breached !== -1) return { refused: "limit", limit: limits[breached]! };
        if (failed(1)) return { refused: "duplicate" };
        throw error;
      }
    },

    /**
     * The owner's own picks, replacing earlier ones, guarded by a check on the survey's owner.
     * `undefined` when stored.
     */
    async saveSelf(
      surveyId: string,
      ownerUid: string,
      input: SelfAnswerInput,
      now = new Date(),
    ): Promise<"no_survey" | "not_owner" | undefined> {
      try {
        await table.transact([
          {
            ConditionCheck: {
              Key: keys.survey(surveyId),
              // Never into a survey being deleted: the deletion may have passed this partition already.
              ConditionExpression: "ownerUid = :uid AND #status <> :deleted",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":uid": ownerUid, ":deleted": "deleted" },
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            },
          },
          {
            Put: {
              Item: { ...keys.selfAnswer(surveyId), questionSet: input.question_set, answers: input.answers, updatedAt: now.toISOString() },
            },
          },
        ]);
        return undefined;
      } catch (error) {
        const [check] = cancellationReasons(error) ?? [];
        if (check?.code !== "ConditionalCheckFailed") throw error;
        return check.item && check.item.status !== "deleted" ? "not_owner" : "no_survey";
      }
    },

    /**
     * Copies `survey`'s answer count (as read after a change) onto the owner's pointer, if the
     * pointer still names it, the survey is not being deleted, and no later change was copied
     * first (`changes` only grows): so the copy never goes back, whatever order copies land in.
     */
    async copyCountToPointer(survey: Survey): Promise<void> {
      try {
        await table.update({
          Key: keys.openSurvey(survey.ownerUid),
          UpdateExpression: "SET answerCount = :count, changes = :changes",
          ConditionExpression: "surveyId = :id AND attribute_not_exists(deleted) AND (attribute_not_exists(changes) OR changes < :changes)",
          ExpressionAttributeValues: { ":id": survey.surveyId, ":count": survey.answerCount, ":changes": survey.changes ?? 0 },
        });
      } catch (error) {
        if (!isConditionFailed(error)) throw error; // another survey is current now, or a later copy won
      }
    },

    /** Shows the owner's new name on their open survey; nothing to do without one. */
    async renameOwner(ownerUid: string, name: string): Promise<void> {
      const pointer = await table.get<{ surveyId: string }>(keys.openSurvey(ownerUid), { consistent: true });
      if (!pointer) return;
      await table.update({
        Key: keys.survey(pointer.surveyId),
        UpdateExpression: "SET ownerName = :name",
        ConditionExpression: "ownerUid = :uid",
        ExpressionAttributeValues: { ":name": name, ":uid": ownerUid },
      });
    },

    // Rounds and withdrawals (issue 14): what the owner sees changes only by published rounds.

    /** The receipt hash of a live answer; undefined when unknown or already withdrawn. */
    async receiptOf(surveyId: string, answerId: string): Promise<string | undefined> {
      const item = await table.get<{ receiptHash?: string }>(keys.answer(surveyId, answerId), { consistent: true });
      return item?.receiptHash;
    },

    /**
     * Removes an answer's content, keeping a tombstone under its key (the device answered),
     * with the survey's counts, in one transaction; false when the receipt was spent meanwhile.
     */
    async withdrawAnswer(surveyId: string, answerId: string, receiptHash: string, now = new Date()): Promise<boolean> {
      try {
        await table.transact([
          {
            Update: {
              Key: keys.answer(surveyId, answerId),
              UpdateExpression: "REMOVE answers, questionSet, receiptHash SET withdrawnAt = :now",
              ConditionExpression: "receiptHash = :hash",
              ExpressionAttributeValues: { ":hash": receiptHash, ":now": now.toISOString() },
            },
          },
          {
            Update: {
              Key: keys.survey(surveyId),
              UpdateExpression: "ADD answerCount :minus, changes :one",
              // Open or closed alike (a friend's answer stays theirs); a survey being deleted takes its answers with it.
              ConditionExpression: "attribute_exists(PK) AND #status <> :deleted",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":minus": -1, ":one": 1, ":deleted": "deleted" },
            },
          },
        ]);
        return true;
      } catch (error) {
        return refusedByCondition(error);
      }
    },

    /** What a new round is computed from, in one strongly consistent Query: live answers by id, and earlier rounds. */
    async roundMaterial(surveyId: string): Promise<{ answers: { id: string; answers: Answers }[]; rounds: PublishedRound[] }> {
      const items = await table.queryAll<Record<string, unknown>>({
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": keys.survey(surveyId).PK },
        ConsistentRead: true,
      });
      const answerPrefix = keys.answersOf(surveyId).SKPrefix;
      const roundPrefix = keys.roundsOf(surveyId).SKPrefix;
      return {
        answers: items
          .filter((i) => String(i.SK).startsWith(answerPrefix) && i.answers !== undefined)
          .map((i) => ({ id: String(i.SK).slice(answerPrefix.length), answers: i.answers as Answers })),
        // The Query returns sort-key order: zero-padded round numbers, oldest first.
        rounds: items.filter((i) => String(i.SK).startsWith(roundPrefix)) as unknown as PublishedRound[],
      };
    },

    /**
     * Publishes `round` (the round item and META in one transaction) if the latest round is
     * still `previous` and `changes` unchanged since read before the answers were: so it holds
     * exactly the answers of that moment, and one of two publishers wins. False otherwise.
     */
    async publishRound(surveyId: string, round: PublishedRound, seen: { previous: number; changes: number }): Promise<boolean> {
      try {
        await table.transact([
          { Put: { Item: { ...keys.round(surveyId, round.round), ...round }, ConditionExpression: "attribute_not_exists(PK)" } },
          {
            Update: {
              Key: keys.survey(surveyId),
              UpdateExpression: "SET publishedRound = :round, publishedCount = :count, publishedAtChange = :changes",
              ConditionExpression: [
                seen.previous === 0 ? "attribute_not_exists(publishedRound)" : "publishedRound = :previous",
                // Surveys from before rounds have no count of changes yet.
                seen.changes === 0 ? "attribute_not_exists(changes)" : "changes = :changes",
              ].join(" AND "),
              ExpressionAttributeValues: {
                ":round": round.round,
                ":count": round.answerCount,
                ":changes": seen.changes,
                ...(seen.previous === 0 ? {} : { ":previous": seen.previous }),
              },
            },
          },
        ]);
        return true;
      } catch (error) {
        return refusedByCondition(error);
      }
    },

    round: (surveyId: string, n: number): Promise<PublishedRound | undefined> =>
      table.get<PublishedRound>(keys.round(surveyId, n), { consistent: true }),

    selfOf: (surveyId: string): Promise<{ answers: SelfAnswerInput["answers"] } | undefined> =>
      table.get<{ answers: SelfAnswerInput["answers"] }>(keys.selfAnswer(surveyId), { consistent: true }),
  };
}

export type SurveyStore = ReturnType<typeof surveyStore>;
