/**
 * A survey's life on the single table: close, reopen as a new round, hide for deletion, find
 * every survey of an owner and delete one by Query. Kept apart from store.ts (answers and
 * summaries) so each stays small; the same rule holds: only these store modules hold the
 * survey domain's DynamoDB expressions.
 */
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { keys } from "../data/keys.ts";
import type { Increment } from "../data/rate-limit.ts";
import { cancellationReasons, isConditionFailed, type Table } from "../data/table.ts";
import { OPEN, newSurveyItems } from "./store.ts";

/** Why a change to a survey by `ownerUid` was refused. */
export type OwnerRefusal = "no_survey" | "not_owner" | "not_closed" | "not_current";

/** Why the owner's change was refused, read from the survey as it was (`ALL_OLD`). */
function ownerRefusal(meta: Record<string, unknown> | undefined, ownerUid: string, otherwise: OwnerRefusal = "no_survey"): OwnerRefusal {
  if (meta === undefined || meta.status === "deleted") return "no_survey";
  if (meta.ownerUid !== ownerUid) return "not_owner";
  return otherwise;
}

export function surveyLifecycleStore(table: Table) {
  return {
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
              // The new survey's count (none yet) replaces the closed one's copy.
              UpdateExpression: "SET surveyId = :new, createdAt = :now, answerCount = :zero, changes = :zero REMOVE deleted",
              ConditionExpression: "surveyId = :old",
              ExpressionAttributeValues: { ":new": surveyId, ":old": closedSurveyId, ":now": now.toISOString(), ":zero": 0 },
            },
          },
          ...newSurveyItems(owner, { surveyId, questionSet, createdAt: now.toISOString(), previousSurveyId: closedSurveyId }),
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
     * `forget`. The owner's deletion counter (`limit`) counts in the same transaction, and so
     * does the owner's pointer when it names this survey (no answers to show, no copy after).
     */
    async markDeleted(surveyId: string, ownerUid: string, limit?: Increment): Promise<OwnerRefusal | "limited" | undefined> {
      const attempt = async (current: boolean): Promise<OwnerRefusal | "limited" | "pointer_elsewhere" | undefined> => {
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
            ...(current
              ? [
                  {
                    Update: {
                      Key: keys.openSurvey(ownerUid),
                      UpdateExpression: "SET answerCount = :zero, deleted = :yes",
                      ConditionExpression: "surveyId = :id",
                      ExpressionAttributeValues: { ":zero": 0, ":yes": true, ":id": surveyId },
                    },
                  },
                ]
              : []),
          ]);
          return undefined;
        } catch (error) {
          const reasons = cancellationReasons(error);
          if (!reasons) throw error;
          if (reasons[0]?.code === "ConditionalCheckFailed") return ownerRefusal(reasons[0].item, ownerUid);
          if (limit && reasons[1]?.code === "ConditionalCheckFailed") return "limited";
          if (current && reasons.at(-1)?.code === "ConditionalCheckFailed") return "pointer_elsewhere";
          throw error;
        }
      };
      // Usually the survey deleted is the current one; when the pointer names another, once more without it.
      const outcome = await attempt(true);
      return outcome === "pointer_elsewhere" ? ((await attempt(false)) as OwnerRefusal | "limited" | undefined) : outcome;
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
  };
}

export type SurveyLifecycleStore = ReturnType<typeof surveyLifecycleStore>;
