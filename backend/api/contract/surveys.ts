/** Surveys: create, the public questions, friends' anonymous answers, the owner's own picks and summary. */
import { z } from "zod";
import {
  ADJECTIVES,
  FriendAnswerInput,
  QUESTION_SET_VERSION,
  RATING_ITEMS,
  SelfAnswerInput,
  TEXT_PROMPTS,
  TRAITS,
} from "../../surveys/questions.ts";
import { operation } from "./operation.ts";
import { AbsoluteUrl, named, SurveyId } from "./schemas.ts";

const Adjective = named("Adjective", z.enum(ADJECTIVES), "One of the Johari window's 56 adjectives.");
const RatingId = z.enum(RATING_ITEMS.map((item) => item.id) as [string, ...string[]]);

export const FriendAnswer = named("FriendAnswer", FriendAnswerInput, "A friend's anonymous answer.");
export const SelfAnswer = named("SelfAnswer", SelfAnswerInput, "The owner's own view of themselves.");

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
  z.strictObject({ survey_id: SurveyId, owner_name: z.string().nullable(), status: z.literal("open"), question_set: QuestionSet }),
  "What a friend sees: whose survey it is and the questions.",
);

export const AnswerAccepted = named("AnswerAccepted", z.strictObject({ survey_id: SurveyId, accepted: z.literal(true) }));

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
    answer_count: z.number().int().min(0),
    answers_needed: z.number().int().min(0),
    aggregates: z
      .strictObject({
        answer_count: z.number().int().min(0),
        traits: z.strictObject(Object.fromEntries(TRAITS.map((t) => [t, TraitScore]))),
        adjectives: z.array(z.strictObject({ adjective: Adjective, count: z.number().int().min(1) })),
        johari: Johari.nullable().describe("Null until the owner has picked their own adjectives."),
      })
      .nullable()
      .describe("Null until there are 3 answers: no single answer is ever shown."),
  }),
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
    responses: { 201: { description: "Accepted.", body: AnswerAccepted } },
    errors: ["forbidden", "duplicate_answer", "rate_limited"],
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
    summary: "Counts, and aggregates from 3 answers on",
    description: "Someone else's survey is 404.",
    auth: "owner",
    params: SurveyParams,
    responses: { 200: { description: "The summary.", body: SurveySummary } },
  }),
};
