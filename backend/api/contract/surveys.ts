/** Surveys: create, the public questions, friends' anonymous answers and their withdrawal, the owner's own picks and summary. */
import { z } from "zod";
import {
  ADJECTIVES,
  FriendAnswerInput,
  QUESTION_SET_VERSION,
  RATING_ITEMS,
  SelfAnswerInput,
  TEXT_PROMPTS,
  TRAITS,
  WithdrawInput,
} from "../../surveys/questions.ts";
import { operation } from "./operation.ts";
import { AbsoluteUrl, named, SurveyId } from "./schemas.ts";

export const Adjective = named("Adjective", z.enum(ADJECTIVES), "One of the Johari window's 56 adjectives.");
const RatingId = z.enum(RATING_ITEMS.map((item) => item.id) as [string, ...string[]]);

export const FriendAnswer = named("FriendAnswer", FriendAnswerInput, "A friend's anonymous answer.");
export const SelfAnswer = named("SelfAnswer", SelfAnswerInput, "The owner's own view of themselves.");
export const Withdrawal = named("Withdrawal", WithdrawInput, "The receipt the answer's 201 carried.");

const SurveyParams = z.object({ survey_id: SurveyId });

export const CreatedSurvey = named(
  "CreatedSurvey",
  z.strictObject({ survey_id: SurveyId, survey_url: AbsoluteUrl.describe("The link friends open: `<PUBLIC_BASE_URL>/s/<survey_id>`.") }),
);

export const QuestionSet = named(
  "QuestionSet",
  z.strictObject({
    version: z.literal(QUESTION_SET_VERSION),
    adjectives: z.strictObject({ min: z.number().int(), max: z.number().int(), options: z.array(Adjective) }),
    ratings: z.strictObject({
      scale: z.strictObject({ min: z.number().int(), max: z.number().int(), low: z.string(), high: z.string() }),
      stem: z.string(),
      items: z.array(z.strictObject({ id: RatingId, text: z.string() })),
    }),
    texts: z.array(
      z.strictObject({
        id: z.enum(TEXT_PROMPTS.map((p) => p.id) as [string, ...string[]]),
        prompt: z.string(),
        max_length: z.number().int(),
        optional: z.boolean(),
      }),
    ),
  }),
);

export const Survey = named(
  "Survey",
  z.strictObject({
    survey_id: SurveyId,
    owner_name: z.string().nullable(),
    status: z.enum(["open", "closed"]).describe("`closed`: it takes no more answers (409 `survey_closed`)."),
    question_set: QuestionSet,
  }),
  "What a friend sees: whose survey it is and the questions.",
);

export const AnswerAccepted = named(
  "AnswerAccepted",
  z.strictObject({
    survey_id: SurveyId,
    accepted: z.literal(true),
    receipt: z
      .string()
      .describe(
        "Shown once, never again: the only way to withdraw this answer (`POST /v1/surveys/{survey_id}/responses/withdraw`). Keep it on the device, as is; the server stores only its hash.",
      ),
  }),
);

export const AnswerWithdrawn = named(
  "AnswerWithdrawn",
  z.strictObject({ survey_id: SurveyId, withdrawn: z.literal(true) }),
  "The answer's content is deleted; the owner's summary drops it with the next published round.",
);

const Ratings = z.strictObject(Object.fromEntries(RATING_ITEMS.map((item) => [item.id, z.number().int().min(1).max(7)])));
export const SelfAnswers = named(
  "SelfAnswers",
  z.strictObject({ survey_id: SurveyId, adjectives: z.array(Adjective), ratings: Ratings.nullable() }),
  "The owner's own picks as stored.",
);

const TraitScore = z.strictObject({ mean: z.number(), spread: z.number() });
const Johari = z.strictObject({
  arena: z.array(Adjective),
  blind_spot: z.array(Adjective),
  facade: z.array(Adjective),
  unknown: z.array(Adjective),
});
export const SurveySummary = named(
  "SurveySummary",
  z.strictObject({
    answer_count: z.number().int().min(0).describe("Answers in the published round shown."),
    answers_needed: z
      .number()
      .int()
      .min(0)
      .describe("Answers still missing before the first round can show aggregates; 0 once there are enough."),
    round: z.number().int().min(0).describe("The published round shown; 0 until the first."),
    changes_waiting: z
      .number()
      .int()
      .min(0)
      .describe("Answers added or withdrawn since that round: they show with the next round, published from 3 changes on."),
    aggregates: z
      .strictObject({
        answer_count: z.number().int().min(0),
        traits: z.strictObject(Object.fromEntries(TRAITS.map((t) => [t, TraitScore]))),
        adjectives: z.array(z.strictObject({ adjective: Adjective, count: z.number().int().min(1) })),
        johari: Johari.nullable().describe("Null until the owner has picked their own adjectives."),
      })
      .nullable()
      .describe("The published round's aggregates; null until a round of 3 or more answers. No single answer is ever shown."),
  }),
  "What the owner sees: the latest published round only (docs/privacy.md), and how many changes wait for the next.",
);

export const surveys = {
  create: operation({
    operationId: "createSurvey",
    method: "POST",
    path: "/v1/surveys",
    tag: "surveys",
    summary: "Open the caller's survey (idempotent)",
    description: "The first call creates the survey (201); every later one returns the same open survey (200).",
    auth: "user",
    responses: {
      201: { description: "Created.", body: CreatedSurvey, headers: ["location"] },
      200: { description: "The caller's open survey, made before.", body: CreatedSurvey, headers: ["location"] },
    },
  }),
  get: operation({
    operationId: "getSurvey",
    method: "GET",
    path: "/v1/surveys/:survey_id",
    tag: "surveys",
    summary: "The questions, for a friend",
    description: "Public and cacheable: changes only with the owner's name and the question set's version.",
    auth: "anyone",
    params: SurveyParams,
    responses: {
      200: { description: "The survey.", body: Survey, headers: ["etag"] },
      304: { description: "Unchanged since the ETag sent.", headers: ["etag"] },
    },
  }),
  answer: operation({
    operationId: "answerSurvey",
    method: "POST",
    path: "/v1/surveys/:survey_id/responses",
    tag: "surveys",
    summary: "A friend's anonymous answer (one per device)",
    description:
      "No `Location`: an answer has no URL of its own. The server keeps only an HMAC of survey id and fingerprint, never the raw value or an IP.",
    auth: "anyone",
    optionalAuth: true,
    params: SurveyParams,
    body: FriendAnswer,
    responses: { 201: { description: "Accepted, with the one-time receipt to withdraw it.", body: AnswerAccepted } },
    errors: ["forbidden", "duplicate_answer", "survey_closed", "rate_limited"],
  }),
  withdraw: operation({
    operationId: "withdrawAnswer",
    method: "POST",
    path: "/v1/surveys/:survey_id/responses/withdraw",
    tag: "surveys",
    summary: "A friend withdraws their answer with its receipt",
    description:
      "Anyone holding the receipt; it works once. The receipt goes in the body, never the path (paths get logged). A wrong, spent or malformed receipt, and a survey id that names nothing, are 404 `No such answer` alike. The device cannot answer the survey again.",
    auth: "anyone",
    params: SurveyParams,
    body: Withdrawal,
    responses: { 200: { description: "Withdrawn.", body: AnswerWithdrawn } },
  }),
  self: operation({
    operationId: "saveSelfAnswers",
    method: "PUT",
    path: "/v1/surveys/:survey_id/self",
    tag: "surveys",
    summary: "The owner's own picks, for the Johari window",
    description: "Someone else's survey is 404.",
    auth: "owner",
    params: SurveyParams,
    body: SelfAnswer,
    responses: { 200: { description: "The picks as stored.", body: SelfAnswers } },
  }),
  summary: operation({
    operationId: "getSurveySummary",
    method: "GET",
    path: "/v1/surveys/:survey_id/summary",
    tag: "surveys",
    summary: "The latest published round: counts, and aggregates from 3 answers on",
    description:
      "Changes only by published rounds of 3 or more answers added or withdrawn, so no single friend's answer can be told apart. Someone else's survey is 404.",
    auth: "owner",
    params: SurveyParams,
    responses: { 200: { description: "The summary.", body: SurveySummary } },
  }),
};
