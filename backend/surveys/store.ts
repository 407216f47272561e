/**
 * Surveys and their answers on the single table. Every DynamoDB expression of the survey
 * domain lives here; the rules (surveys.ts) call these methods in the product's words.
 *
 *   USER#uid / OPEN_SURVEY   pointer to the owner's current survey (open, or closed until reopened)
 *   USER#uid / SURVEY#id     pointer to every survey the owner made (deletion finds them all)
 *   SURVEY#id / META         owner, name, status, answer count
 *   SURVEY#id / ANSWER#hmac  one friend's answer (hmac of survey id + fingerprint)
 *   SURVEY#id / SELF         the owner's own picks
 */
import { keys } from "../data/keys.ts";
import type { Increment } from "../data/rate-limit.ts";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { cancellationReasons, isConditionFailed, type Table } from "../data/table.ts";
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

const OPEN = "open";

/** Why a change to a survey by `ownerUid` was refused. */
export type OwnerRefusal = "no_survey" | "not_owner" | "not_closed" | "not_current";

/** The new survey's items: its META, and the owner's pointer to it. */
function newSurveyItems(
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

/** Why the owner's change was refused, read from the survey as it was (`ALL_OLD`). */
function ownerRefusal(meta: Record<string, unknown> | undefined, ownerUid: string, otherwise: OwnerRefusal = "no_survey"): OwnerRefusal {
  if (meta === undefined || meta.status === "deleted") return "no_survey";
  if (meta.ownerUid !== ownerUid) return "not_owner";
  return otherwise;
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

    /**
     * Closes `surveyId` to new answers (its answers and summary stay). Closing a closed survey
     * changes nothing. `undefined` when closed.
     */
    async close(surveyId: string, ownerUid: string): Promise<OwnerRefusal | undefined> {
      try {
        await table.update({
          Key: keys.survey(surveyId),
          UpdateExpression: "SET #status = :closed",
          ConditionExpression: "ownerUid = :uid AND #status IN (:open, :closed)",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":uid": ownerUid, ":open": OPEN, ":closed": "closed" },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        });
        return undefined;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        return ownerRefusal(error.Item === undefined ? undefined : unmarshall(error.Item), ownerUid);
      }
    },

    /**
     * A new round: a new open survey (new id, new link, no answers) after the owner's closed
     * current one, which stays readable. One transaction: the closed survey is checked, the
     * owner's current-survey pointer moves from it to the new one, and the new one is written.
     */
    async reopen(
      closedSurveyId: string,
      owner: { uid: string; name?: string },
      surveyId: string,
      questionSet: string,
      now = new Date(),
    ): Promise<OwnerRefusal | undefined> {
      try {
        await table.transact([
          {
            ConditionCheck: {
              Key: keys.survey(closedSurveyId),
              ConditionExpression: "ownerUid = :uid AND #status = :closed",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":uid": owner.uid, ":closed": "closed" },
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            },
          },
          {
            Update: {
              Key: keys.openSurvey(owner.uid),
              UpdateExpression: "SET surveyId = :new, createdAt = :now",
              ConditionExpression: "surveyId = :old",
              ExpressionAttributeValues: { ":new": surveyId, ":old": closedSurveyId, ":now": now.toISOString() },
            },
          },
          ...newSurveyItems(owner, surveyId, questionSet, now.toISOString(), closedSurveyId),
        ]);
        return undefined;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        if (reasons[0]?.code === "ConditionalCheckFailed") return ownerRefusal(reasons[0].item, owner.uid, "not_closed");
        if (reasons[1]?.code === "ConditionalCheckFailed") return "not_current";
        throw error;
      }
    },

    /**
     * Hides `surveyId` at once (reads answer 404, answers are refused); its items go with
     * `forget`. The owner's deletion counter (`limit`) counts in the same transaction.
     */
    async markDeleted(surveyId: string, ownerUid: string, limit?: Increment): Promise<OwnerRefusal | "limited" | undefined> {
      try {
        await table.transact([
          {
            Update: {
              Key: keys.survey(surveyId),
              UpdateExpression: "SET #status = :deleted",
              ConditionExpression: "ownerUid = :uid",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":uid": ownerUid, ":deleted": "deleted" },
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            },
          },
          ...(limit ? [limit.write] : []),
        ]);
        return undefined;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        if (reasons[0]?.code === "ConditionalCheckFailed") return ownerRefusal(reasons[0].item, ownerUid);
        if (reasons[1]?.code === "ConditionalCheckFailed") return "limited";
        throw error;
      }
    },

    /** Every survey `uid` made: their pointers (and the current-survey pointer, for surveys made before pointers existed). */
    async idsOf(uid: string): Promise<string[]> {
      const [pointers, current] = await Promise.all([
        table.queryAll<{ surveyId: string }>({
          KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
          ExpressionAttributeValues: { ":pk": keys.ownSurveys(uid).PK, ":prefix": keys.ownSurveys(uid).SKPrefix },
          ConsistentRead: true,
        }),
        table.get<{ surveyId: string }>(keys.openSurvey(uid), { consistent: true }),
      ]);
      return [...new Set([...pointers.map((p) => p.surveyId), ...(current ? [current.surveyId] : [])])];
    },

    /**
     * Deletes up to `limit` items of the survey's partition (META, answers, self answer and
     * anything else it keeps). `done` when the partition is empty.
     */
    forgetItems: (surveyId: string, limit: number) => table.deleteItemsOf(keys.surveyItems(surveyId).PK, { limit }),

    /** Last: the owner's pointers to the survey, so an interrupted deletion can always find it again. */
    async forgetPointers(ownerUid: string, surveyId: string): Promise<void> {
      try {
        await table.delete({
          Key: keys.openSurvey(ownerUid),
          ConditionExpression: "surveyId = :id",
          ExpressionAttributeValues: { ":id": surveyId },
        });
      } catch (error) {
        if (!isConditionFailed(error)) throw error; // the current survey is another one
      }
      await table.delete({ Key: keys.ownSurvey(ownerUid, surveyId) });
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
