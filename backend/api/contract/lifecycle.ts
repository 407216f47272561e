/**
 * The data's whole life (issue 14): delete the account, the persona or a survey; close a
 * survey and open a new round of asking after it; export everything; the owner's own
 * portrait while it is private. docs/privacy.md says the same for a user.
 */
import { z } from "zod";
import { TRAITS } from "../../surveys/questions.ts";
import { Chat, Message } from "./chats.ts";
import { operation } from "./operation.ts";
import { PersonaCard, PersonaStatus, StatusChange } from "./personas.ts";
import { AbsoluteUrl, named, PersonaId, SurveyId, Timestamp, Usage } from "./schemas.ts";
import { Adjective, SelfAnswers, SurveySummary } from "./surveys.ts";

const deleted = { description: "Deleted, all of it, inside the request.", body: z.strictObject({ status: z.literal("deleted") }) };
const deleting = {
  description: "Gone from every view at once; the rest is deleted in the background (large data, through the lifecycle queue).",
  body: z.strictObject({ status: z.literal("deleting") }),
};

export const SurveyClosed = named(
  "SurveyClosed",
  z.strictObject({ survey_id: SurveyId, status: z.literal("closed") }),
  "The survey takes no more answers; its answers, receipts, rounds and summary stay.",
);

export const SurveyReopened = named(
  "SurveyReopened",
  z.strictObject({
    survey_id: SurveyId.describe("The new open survey."),
    survey_url: AbsoluteUrl.describe("The new link friends open: `<PUBLIC_BASE_URL>/s/<survey_id>`."),
    previous_survey_id: SurveyId.describe("The closed survey it follows (still readable by its owner)."),
  }),
  "A new round of asking: a new open survey, with a new link and no answers.",
);

const ExportedProfile = z.strictObject({
  user_id: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  picture: z.string().nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const ExportedSurvey = z.strictObject({
  survey_id: SurveyId,
  status: z.enum(["open", "closed"]),
  created_at: Timestamp,
  previous_survey_id: SurveyId.nullable().describe("The closed survey this one opened a new round of asking after."),
  self_answers: SelfAnswers.omit({ survey_id: true }).nullable().describe("The owner's own picks; null when none."),
  summary: SurveySummary,
});

const ExportedVersion = z.strictObject({
  version: z.number().int().min(1),
  card: PersonaCard.omit({ version: true }),
  chat_system_prompt: z.string(),
  traits: z.strictObject(Object.fromEntries(TRAITS.map((t) => [t, z.number()]))),
  johari_arena: z.array(Adjective),
  answer_count: z.number().int().min(0),
  written_by: z.string(),
  drawn_by: z.string().nullable().describe("Null for a version still being drawn."),
  ready_at: Timestamp.nullable().describe("Null for a version still being made."),
});

const ExportedPersona = z.strictObject({
  persona_id: PersonaId,
  status: PersonaStatus,
  public: z.boolean(),
  reason: z.string().nullable(),
  updated_at: Timestamp,
  versions: z.array(ExportedVersion).describe("The ready version, and the one being made if any (a regeneration replaces the old)."),
  status_events: z.array(z.strictObject({ event_id: z.number().int().min(1), ...StatusChange.shape })),
});

const ExportedMessage = Message.omit({ alternates: true, edited: true }).extend({
  alternates: z
    .array(z.strictObject({ text: z.string(), status: Message.shape.status, usage: Usage.optional() }))
    .optional()
    .describe("A regenerated reply: every alternate it has, in order (`alternate` is the one shown)."),
  edited_at: Timestamp.optional().describe("A user message whose text was edited: when."),
});

const ExportedChat = Chat.omit({ generating: true }).extend({
  summary: z.string().nullable().describe("The running summary of older turns the model is given."),
  messages: z.array(ExportedMessage).describe("Every message, oldest first."),
});

export const AccountExport = named(
  "AccountExport",
  z.strictObject({
    format: z.literal("remirai-export"),
    version: z.literal(1),
    exported_at: Timestamp,
    profile: ExportedProfile.nullable(),
    surveys: z.array(ExportedSurvey),
    persona: ExportedPersona.nullable(),
    chats: z.array(ExportedChat).describe("The caller's own chats; other people's chats with the caller's persona are theirs."),
    feedback: z.array(z.never()).describe("Feedback on replies; the product keeps none yet."),
    not_included: z.string().describe("What is not in it, and why."),
  }),
  "Everything the product holds about the caller. Never a friend's single answer: a survey brings the summary its owner sees.",
);

const SurveyParams = z.object({ survey_id: SurveyId });

export const lifecycle = {
  deleteAccount: operation({
    operationId: "deleteMe",
    method: "DELETE",
    path: "/v1/me",
    tag: "identity",
    summary: "Delete the account and everything about it",
    description:
      "At once: every token issued so far is refused (401 `account_deleted`), the public card and portrait are 404, the survey links stop working. Everything else is deleted inside the request (200) or in the background (202); see docs/privacy.md. Signing up again makes a new, empty account.",
    auth: "user",
    responses: { 200: deleted, 202: deleting },
    errors: ["rate_limited"],
  }),
  exportAccount: operation({
    operationId: "exportMe",
    method: "GET",
    path: "/v1/me/export",
    tag: "identity",
    summary: "Everything about the caller, as one JSON document (a download)",
    description:
      "Streamed in chunks as it is read (no `Content-Length`): a body cut short does not parse. Limited per day (EXPORTS_PER_DAY).",
    auth: "user",
    responses: { 200: { description: "The export.", body: AccountExport, headers: ["content-disposition"] } },
    errors: ["rate_limited"],
  }),
  deletePersona: operation({
    operationId: "deleteMyPersona",
    method: "DELETE",
    path: "/v1/personas/me",
    tag: "personas",
    summary: "Delete the caller's persona (the survey stays)",
    description:
      "Its card and portrait are 404 at once. Chats with it, the caller's and other people's, stay readable and take no more messages (`read_only`, 409 `persona_deleted`).",
    auth: "user",
    responses: { 200: deleted, 202: deleting },
    // No persona.
    errors: ["not_found", "rate_limited"],
  }),
  ownPortrait: operation({
    operationId: "getMyPortrait",
    method: "GET",
    path: "/v1/personas/me/portrait",
    tag: "personas",
    summary: "The caller's own portrait, public or private",
    description:
      "What `illustration_url` points to while the persona is private (a public persona's points to its public, cacheable copy). Never stored by a shared cache.",
    auth: "user",
    responses: {
      200: { description: "The image.", media: ["image/png", "image/jpeg", "image/webp", "image/svg+xml"] },
    },
    // No persona, or none drawn yet.
    errors: ["not_found"],
  }),
  closeSurvey: operation({
    operationId: "closeSurvey",
    method: "POST",
    path: "/v1/surveys/:survey_id/close",
    tag: "surveys",
    summary: "Close the survey to new answers",
    description:
      "Answers then get 409 `survey_closed`; friends can still withdraw theirs, and the summary keeps following published rounds. Closing a closed survey changes nothing. Someone else's survey is 404.",
    auth: "owner",
    params: SurveyParams,
    responses: { 200: { description: "Closed.", body: SurveyClosed } },
  }),
  reopenSurvey: operation({
    operationId: "reopenSurvey",
    method: "POST",
    path: "/v1/surveys/:survey_id/reopen",
    tag: "surveys",
    summary: "A new round of asking after the caller's closed current survey",
    description:
      "A new open survey (new id, new link, no answers) becomes the caller's current one (`POST /v1/surveys` returns it); the closed one stays readable by its owner. Someone else's survey is 404.",
    auth: "owner",
    params: SurveyParams,
    responses: { 201: { description: "The new survey.", body: SurveyReopened, headers: ["location"] } },
    errors: ["survey_not_closed", "survey_not_current"],
  }),
  deleteSurvey: operation({
    operationId: "deleteSurvey",
    method: "DELETE",
    path: "/v1/surveys/:survey_id",
    tag: "surveys",
    summary: "Delete a survey with every answer, receipt, round and counter",
    description: "404 to everyone at once (its link, its summary, its receipts). Someone else's survey is 404.",
    auth: "owner",
    params: SurveyParams,
    responses: { 200: deleted, 202: deleting },
    errors: ["rate_limited"],
  }),
};
