/**
 * Surveys and their answers on the single table. Every DynamoDB expression of the survey
 * domain lives here; the rules (surveys.ts) call these methods in the product's words.
 *
 *   USER#uid / OPEN_SURVEY   pointer to the owner's current survey (open, or closed until reopened)
 *   USER#uid / SURVEY#id     pointer to every survey the owner made (deletion finds them all)
 *   SURVEY#id / META         owner, name, status, answer count
 *   SURVEY#id / ANSWER#hmac  one friend's answer (hmac of survey id + fingerprint)
 *   SURVEY#id / SELF         the owner's own picks
 *
 * Closing, reopening and deleting a survey: lifecycle-store.ts.
 */
import { keys } from "../data/keys.ts";
import type { Increment } from "../data/rate-limit.ts";
import { cancellationReasons, type Table } from "../data/table.ts";
import type { Answers, SelfAnswerInput } from "./questions.ts";

export interface Survey {
  surveyId: string;
  ownerUid: string;
  ownerName?: string;
  questionSet: string;
  status: SurveyStatus;
  answerCount: number;
  createdAt: string;
  /** The survey this one opened a new round after (`reopen`). */
  previousSurveyId?: string;
}

/** `deleted`: hidden at once, its items removed in the background (lifecycle). */
export type SurveyStatus = "open" | "closed" | "deleted";

export interface StoredAnswer {
  fingerprintHash: string;
  questionSet: string;
  answers: Answers;
  createdAt: string;
}

/** Why an answer was not stored, in the order a client should hear it. */
export type AnswerRefusal =
  | { refused: "no_survey" }
  | { refused: "own_survey" }
  | { refused: "closed" }
  | { refused: "limit"; limit: Increment }
  | { refused: "duplicate" };

export const OPEN = "open";

/** The new survey's items: its META, and the owner's pointer to it (one transaction's writes). */
export function newSurveyItems(
  owner: { uid: string; name?: string },
  surveyId: string,
  questionSet: string,
  createdAt: string,
  previous?: string,
) {
  return [
    {
      Put: {
        Item: {
          ...keys.survey(surveyId),
          surveyId,
          ownerUid: owner.uid,
          ownerName: owner.name,
          questionSet,
          status: OPEN,
          answerCount: 0,
          createdAt,
          previousSurveyId: previous,
        },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
    { Put: { Item: { ...keys.ownSurvey(owner.uid, surveyId), surveyId, createdAt } } },
  ];
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
              Item: { ...keys.openSurvey(owner.uid), surveyId, createdAt },
              ConditionExpression: "attribute_not_exists(PK)",
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            },
          },
          ...newSurveyItems(owner, surveyId, questionSet, createdAt),
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
              UpdateExpression: "ADD answerCount :one",
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

    /** Every item of a survey in one Query (strongly consistent), split by kind. */
    async everything(surveyId: string): Promise<{ meta?: Survey; self?: { answers: SelfAnswerInput["answers"] }; answers: Answers[] }> {
      const items = await table.queryAll<Record<string, unknown>>({
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": keys.survey(surveyId).PK },
        ConsistentRead: true,
      });
      return {
        meta: items.find((i) => i.SK === keys.survey(surveyId).SK) as Survey | undefined,
        self: items.find((i) => i.SK === keys.selfAnswer(surveyId).SK) as { answers: SelfAnswerInput["answers"] } | undefined,
        answers: items.filter((i) => String(i.SK).startsWith(keys.answersOf(surveyId).SKPrefix)).map((i) => i.answers as Answers),
      };
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
  };
}

export type SurveyStore = ReturnType<typeof surveyStore>;
