/** Survey routes: parse, call the survey domain, respond. */
import { createHash } from "node:crypto";
import { Unauthorized } from "../errors.ts";
import { jsonBody, noContent, respond, type Context, type Handler } from "../framework.ts";
import type { Request } from "../http.ts";
import type { Caller } from "../identify.ts";
import { parse, pathId } from "../validate.ts";
import { SurveyId } from "../../data/ids.ts";
import { profileOf } from "../../identity/users.ts";
import { getSurvey, NO_SUCH_SURVEY, openSurvey, saveSelfAnswer, submitAnswer, surveySummary, type SurveySettings } from "../../surveys/surveys.ts";
import { FriendAnswerInput, questionSet, SelfAnswerInput } from "../../surveys/questions.ts";

export interface SurveyRouteDeps {
  settings: SurveySettings;
  publicBaseUrl: string;
  /** The signed-in caller, or undefined for an anonymous request. */
  identify: (req: Request) => Promise<Caller | undefined>;
  /** The client IP from a trusted source (socket, or our edge function's header). */
  clientIp: (req: Request) => string;
  /** Runs after an answer is stored (the automatic persona start); must not throw. */
  afterAnswer?: (surveyId: string) => Promise<void>;
}

/** Checked just before the first storage call, so a malformed id and an unknown one answer alike. */
const surveyId = (ctx: Context) => pathId(ctx, "id", SurveyId, NO_SUCH_SURVEY);

export function surveyHandlers(deps: SurveyRouteDeps) {
  const { tableName } = deps.settings;
  const signedIn = async (req: Request): Promise<Caller> => {
    const caller = await deps.identify(req);
    if (!caller) throw new Unauthorized();
    return caller;
  };
  const publicQuestions = JSON.stringify(questionSet());

  const create: Handler = async (ctx) => {
    const caller = await signedIn(ctx.req);
    // The survey shows the owner's display name to friends, so it comes from the profile.
    const profile = await profileOf(tableName, caller);
    const { surveyId, created } = await openSurvey(tableName, { uid: caller.uid, name: profile?.name ?? caller.name });
    return respond(
      { survey_id: surveyId, survey_url: `${deps.publicBaseUrl}/s/${encodeURIComponent(surveyId)}` },
      { status: created ? 201 : 200, headers: { location: `/v1/surveys/${encodeURIComponent(surveyId)}` } },
    );
  };

  /** Public and cacheable: what it returns only changes with the question-set version. */
  const get: Handler = async (ctx) => {
    const survey = await getSurvey(tableName, surveyId(ctx));
    const body = { survey_id: survey.surveyId, owner_name: survey.ownerName ?? null, status: survey.status, question_set: questionSet() };
    const tag = createHash("sha256").update(`${survey.surveyId}\n${survey.ownerName ?? ""}\n${survey.status}\n${publicQuestions}`).digest("base64url").slice(0, 27);
    return respond(body, { etag: `"${tag}"`, cache: { maxAge: 300, sMaxAge: 86_400, staleWhileRevalidate: 86_400 } });
  };

  const answer: Handler = async (ctx) => {
    const input = parse(FriendAnswerInput, await jsonBody(ctx));
    const caller = await deps.identify(ctx.req);
    const id = surveyId(ctx);
    await submitAnswer(deps.settings, id, input, { ip: deps.clientIp(ctx.req), callerUid: caller?.uid });
    await deps.afterAnswer?.(id);
    return respond({ survey_id: id, accepted: true }, { status: 201 });
  };

  const self: Handler = async (ctx) => {
    const caller = await signedIn(ctx.req);
    const input = parse(SelfAnswerInput, await jsonBody(ctx));
    await saveSelfAnswer(tableName, surveyId(ctx), caller.uid, input);
    return noContent();
  };

  const summary: Handler = async (ctx) => {
    const caller = await signedIn(ctx.req);
    return respond(await surveySummary(tableName, surveyId(ctx), caller.uid));
  };

  return { create, get, answer, self, summary };
}
