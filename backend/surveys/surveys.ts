/**
 * Surveys and their answers, on the single table. Domain only: callers pass identities and
 * validated input, and get records or domain errors back.
 *
 *   owner ── openSurvey ──> SURVEY#id/META  (+ USER#uid/OPEN_SURVEY pointer: one per owner)
 *   friend ─ submitAnswer ─> SURVEY#id/ANSWER#hmac  + META.answerCount += 1
 *                            + RATE# counters (per IP, per survey)             (one transaction)
 *   owner ── saveSelfAnswer > SURVEY#id/SELF        (guarded by a ConditionCheck on META)
 *   owner ── surveySummary ─> one Query of SURVEY#id → aggregates from 3 answers on
 */
import { randomBytes } from "node:crypto";
import { GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.ts";
import { keys } from "../data/keys.ts";
import { counter } from "../data/rate-limit.ts";
import { fingerprintHash, ipPseudonym } from "../data/pseudonym.ts";
import { cancellationReasons, table, transact } from "../data/table.ts";
import { aggregate, MIN_ANSWERS_FOR_AGGREGATES, quotedTexts, type Aggregates } from "./aggregate.ts";
import { QUESTION_SET_VERSION, type Answers, type FriendAnswerInput, type SelfAnswerInput } from "./questions.ts";

export interface SurveySettings {
  tableName: string;
  answersPerIpPerHour: number;
  answersPerSurveyPerMinute: number;
}

export interface Survey {
  surveyId: string;
  ownerUid: string;
  ownerName?: string;
  questionSet: string;
  status: "open";
  answerCount: number;
  createdAt: string;
}

export interface SurveySummary {
  answer_count: number;
  answers_needed: number;
  /** Null until there are enough answers that no single one can be singled out. */
  aggregates: Aggregates | null;
}

const OPEN = "open";

/** What a request naming a survey that does not exist (or cannot exist) is told. */
export const NO_SUCH_SURVEY = "No such survey";

/** The owner's open survey: created on first call, the same one on every later call. */
export async function openSurvey(tableName: string, owner: { uid: string; name?: string }): Promise<{ surveyId: string; created: boolean }> {
  const surveyId = randomBytes(16).toString("base64url");
  const createdAt = new Date().toISOString();
  try {
    await transact({
      TransactItems: [
        {
          Put: {
            TableName: tableName,
            Item: { ...keys.openSurvey(owner.uid), surveyId, createdAt },
            ConditionExpression: "attribute_not_exists(PK)",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          },
        },
        {
          Put: {
            TableName: tableName,
            Item: {
              ...keys.survey(surveyId),
              surveyId,
              ownerUid: owner.uid,
              ownerName: owner.name,
              questionSet: QUESTION_SET_VERSION,
              status: OPEN,
              answerCount: 0,
              createdAt,
            },
            ConditionExpression: "attribute_not_exists(PK)",
          },
        },
      ],
    });
    return { surveyId, created: true };
  } catch (error) {
    const existing = cancellationReasons(error)?.[0]?.item?.surveyId;
    if (typeof existing === "string") return { surveyId: existing, created: false };
    throw error;
  }
}

export async function getSurvey(tableName: string, surveyId: string): Promise<Survey> {
  const { Item } = await table().send(new GetCommand({ TableName: tableName, Key: keys.survey(surveyId) }));
  if (!Item) throw new NotFoundError(NO_SUCH_SURVEY);
  return Item as Survey;
}

/**
 * Stores one friend's answer: one transaction of the answer, the survey's count and both
 * rate-limit counters (per client IP per survey per hour, per survey per minute). Every
 * item carries its condition, so a missing or closed survey (404), the owner answering
 * (403), a breached limit (429) or a second answer with the same fingerprint (409) cancels
 * all of it: nothing is written, and a refused answer uses up no one's allowance.
 */
export async function submitAnswer(
  settings: SurveySettings,
  surveyId: string,
  input: FriendAnswerInput,
  from: { ip: string; callerUid?: string },
  now = Date.now(),
): Promise<void> {
  const limits = [
    counter(settings.tableName, { scope: "answer-ip", limit: settings.answersPerIpPerHour, windowSeconds: 3600 }, `${surveyId}:${ipPseudonym(from.ip)}`, now),
    counter(settings.tableName, { scope: "answer-survey", limit: settings.answersPerSurveyPerMinute, windowSeconds: 60 }, surveyId, now),
  ].filter((limit) => limit !== undefined);
  const owner = from.callerUid === undefined ? {} : { ":caller": from.callerUid };
  try {
    await transact({
      TransactItems: [
        {
          Update: {
            TableName: settings.tableName,
            Key: keys.survey(surveyId),
            UpdateExpression: "ADD answerCount :one",
            ConditionExpression: `attribute_exists(PK) AND #status = :open${from.callerUid === undefined ? "" : " AND ownerUid <> :caller"}`,
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: { ":one": 1, ":open": OPEN, ...owner },
            // Tells "no such survey" from "your own survey" without a read first.
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          },
        },
        {
          Put: {
            TableName: settings.tableName,
            Item: {
              ...keys.answer(surveyId, fingerprintHash(surveyId, input.fingerprint)),
              questionSet: input.question_set,
              answers: input.answers,
              createdAt: new Date(now).toISOString(),
            },
            ConditionExpression: "attribute_not_exists(PK)",
          },
        },
        ...limits.map((limit) => ({ Update: limit.update })),
      ],
    });
  } catch (error) {
    const reasons = cancellationReasons(error);
    if (!reasons) throw error;
    const failed = (i: number) => reasons[i]?.code === "ConditionalCheckFailed";
    if (failed(0)) {
      const survey = reasons[0]!.item;
      if (from.callerUid !== undefined && survey?.ownerUid === from.callerUid) {
        throw new ForbiddenError("You cannot answer your own survey here; use PUT /v1/surveys/:id/self");
      }
      throw new NotFoundError(NO_SUCH_SURVEY);
    }
    // A breached limit before a duplicate: past the limit a client learns nothing more.
    const breached = limits.findIndex((_, i) => failed(2 + i));
    if (breached !== -1) throw limits[breached]!.refused();
    if (failed(1)) throw new ConflictError("This survey already has your answer", "duplicate_answer");
    throw error;
  }
}

/** The owner's own picks, for the Johari window. Replaces any earlier ones. */
export async function saveSelfAnswer(tableName: string, surveyId: string, ownerUid: string, input: SelfAnswerInput): Promise<void> {
  try {
    await transact({
      TransactItems: [
        {
          ConditionCheck: {
            TableName: tableName,
            Key: keys.survey(surveyId),
            ConditionExpression: "ownerUid = :uid",
            ExpressionAttributeValues: { ":uid": ownerUid },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          },
        },
        {
          Put: {
            TableName: tableName,
            Item: { ...keys.selfAnswer(surveyId), questionSet: input.question_set, answers: input.answers, updatedAt: new Date().toISOString() },
          },
        },
      ],
    });
  } catch (error) {
    const [check] = cancellationReasons(error) ?? [];
    if (check?.code !== "ConditionalCheckFailed") throw error;
    if (check.item) throw new ForbiddenError("Only the survey's owner can do this");
    throw new NotFoundError(NO_SUCH_SURVEY);
  }
}

/** Every item of a survey in one Query (strongly consistent), split by kind. */
async function loadSurveyItems(tableName: string, surveyId: string) {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table().send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": keys.survey(surveyId).PK },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const meta = items.find((i) => i.SK === "META") as Survey | undefined;
  const self = items.find((i) => i.SK === "SELF") as { answers: SelfAnswerInput["answers"] } | undefined;
  const answers = items.filter((i) => String(i.SK).startsWith("ANSWER#")).map((i) => i.answers as Answers);
  return { meta, self, answers };
}

/** Counts always; aggregates only from MIN_ANSWERS_FOR_AGGREGATES answers on. Owner only. */
export async function surveySummary(tableName: string, surveyId: string, callerUid: string): Promise<SurveySummary> {
  const { meta, self, answers } = await loadSurveyItems(tableName, surveyId);
  if (!meta) throw new NotFoundError(NO_SUCH_SURVEY);
  if (meta.ownerUid !== callerUid) throw new ForbiddenError("Only the survey's owner can see its summary");
  const enough = answers.length >= MIN_ANSWERS_FOR_AGGREGATES;
  return {
    answer_count: answers.length,
    answers_needed: Math.max(0, MIN_ANSWERS_FOR_AGGREGATES - answers.length),
    aggregates: enough ? aggregate(answers, self?.answers.adjectives) : null,
  };
}

/**
 * Shows the owner's new display name on their open survey (friends see it on the survey
 * page). Nothing to do without an open survey.
 */
export async function renameSurveyOwner(tableName: string, ownerUid: string, name: string): Promise<void> {
  const { Item: pointer } = await table().send(new GetCommand({ TableName: tableName, Key: keys.openSurvey(ownerUid), ConsistentRead: true }));
  if (typeof pointer?.surveyId !== "string") return;
  await table().send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.survey(pointer.surveyId),
      UpdateExpression: "SET ownerName = :name",
      ConditionExpression: "ownerUid = :uid",
      ExpressionAttributeValues: { ":name": name, ":uid": ownerUid },
    }),
  );
}

/** The user's open survey and its answer count, or undefined when they have none. */
export async function openSurveyOf(tableName: string, uid: string): Promise<Survey | undefined> {
  const { Item: pointer } = await table().send(new GetCommand({ TableName: tableName, Key: keys.openSurvey(uid), ConsistentRead: true }));
  if (!pointer) return undefined;
  const { Item } = await table().send(new GetCommand({ TableName: tableName, Key: keys.survey(pointer.surveyId), ConsistentRead: true }));
  return Item as Survey | undefined;
}

/** What the persona saga is written from: aggregates and de-identified quotes, never raw answers. */
export async function personaMaterial(tableName: string, surveyId: string) {
  const { meta, self, answers } = await loadSurveyItems(tableName, surveyId);
  if (!meta) throw new NotFoundError(NO_SUCH_SURVEY);
  const ownerNames = meta.ownerName ? [meta.ownerName] : [];
  return {
    ownerName: meta.ownerName,
    aggregates: aggregate(answers, self?.answers.adjectives),
    quotes: quotedTexts(answers, ownerNames),
  };
}
