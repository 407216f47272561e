/** Survey routes: parse, call the survey domain, respond. */
import { createHash } from "node:crypto";
import { SurveyId } from "../../data/ids.ts";
import type { Domains } from "../../compose.ts";
import { FriendAnswerInput, questionSet, SelfAnswerInput, WithdrawInput } from "../../surveys/questions.ts";
import { NO_SUCH_ANSWER, NO_SUCH_SURVEY } from "../../surveys/surveys.ts";
import { jsonBody, noContent, respond, type Context, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { parse, pathId } from "../validate.ts";

/** Checked just before the first storage call, so a malformed id and an unknown one answer alike. */
const surveyId = (ctx: Context) => pathId(ctx, "id", SurveyId, NO_SUCH_SURVEY);

export function surveyHandlers({ identity, surveys, config }: Pick<Domains, "identity" | "surveys" | "config">, callers: Callers) {
  const publicQuestions = JSON.stringify(questionSet());

  const create: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    // The survey shows the owner's display name to friends, so it comes from the profile.
    const profile = await identity.profileOf(caller);
    const { surveyId, created } = await surveys.open({ uid: caller.uid, name: profile?.name ?? caller.name });
    return respond(
      { survey_id: surveyId, survey_url: `${config.publicBaseUrl}/s/${encodeURIComponent(surveyId)}` },
      { status: created ? 201 : 200, headers: { location: `/v1/surveys/${encodeURIComponent(surveyId)}` } },
    );
  };

  /** Public and cacheable: what it returns only changes with the owner's name and the question-set version. */
  const get: Handler = async (ctx) => {
    const survey = await surveys.get(surveyId(ctx));
    const body = { survey_id: survey.surveyId, owner_name: survey.ownerName ?? null, status: survey.status, question_set: questionSet() };
    const tag = createHash("sha256")
      .update(`${survey.surveyId}\n${survey.ownerName ?? ""}\n${survey.status}\n${publicQuestions}`)
      .digest("base64url")
      .slice(0, 27);
    return respond(body, { etag: `"${tag}"`, cache: { maxAge: 300, sMaxAge: 86_400, staleWhileRevalidate: 86_400 } });
  };

  const answer: Handler = async (ctx) => {
    const input = parse(FriendAnswerInput, await jsonBody(ctx));
    const caller = await callers.optional(ctx.req);
    const id = surveyId(ctx);
    const { receipt } = await surveys.answer(id, input, { ip: callers.ip(ctx.req), callerUid: caller?.uid });
    // Shown once (no-store): the device keeps it to withdraw the answer; we keep only its hash.
    return respond({ survey_id: id, accepted: true, receipt }, { status: 201 });
  };

  /** Anyone holding the receipt; a wrong one, or a survey id that cannot exist, is 404 like an unknown answer. */
  const withdraw: Handler = async (ctx) => {
    const input = parse(WithdrawInput, await jsonBody(ctx));
    const id = pathId(ctx, "id", SurveyId, NO_SUCH_ANSWER);
    await surveys.withdraw(id, input.receipt);
    return respond({ survey_id: id, withdrawn: true });
  };

  const self: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    const input = parse(SelfAnswerInput, await jsonBody(ctx));
    await surveys.saveSelf(surveyId(ctx), caller.uid, input);
    return noContent();
  };

  const summary: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    return respond(await surveys.summary(surveyId(ctx), caller.uid));
  };

  return { create, get, answer, withdraw, self, summary };
}
