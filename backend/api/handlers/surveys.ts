/** Survey routes: read the request through the contract, call the survey domain, respond. */
import { createHash } from "node:crypto";
import type { z } from "zod";
import type { Domains } from "../../compose.ts";
import { questionSet } from "../../surveys/questions.ts";
import { NO_SUCH_ANSWER } from "../../surveys/surveys.ts";
import {
  type AnswerAccepted,
  type AnswerWithdrawn,
  api,
  type CreatedSurvey,
  type SelfAnswers,
  type Survey,
  type SurveySummary,
} from "../contract/index.ts";
import { respond, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { input } from "./input.ts";
import type { Links } from "./links.ts";

type Out<S extends z.ZodType> = z.output<S>;

export function surveyHandlers({ identity, surveys }: Pick<Domains, "identity" | "surveys">, callers: Callers, links: Links) {
  const publicQuestions = JSON.stringify(questionSet());

  const create: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    // The survey shows the owner's display name to friends, so it comes from the profile.
    const profile = await identity.profileOf(caller);
    const { surveyId, created } = await surveys.open({ uid: caller.uid, name: profile?.name ?? caller.name });
    const body: Out<typeof CreatedSurvey> = { survey_id: surveyId, survey_url: links.survey(surveyId) };
    return respond(body, {
      status: created ? 201 : 200,
      headers: { location: links.api(`/v1/surveys/${encodeURIComponent(surveyId)}`) },
    });
  };

  /** Public and cacheable: what it returns only changes with the owner's name and the question-set version. */
  const get: Handler = async (ctx) => {
    const { params } = await input(ctx, api.surveys.get);
    const survey = await surveys.get(params.survey_id);
    const body: Out<typeof Survey> = {
      survey_id: survey.surveyId,
      owner_name: survey.ownerName ?? null,
      status: survey.status,
      question_set: questionSet(),
    };
    const tag = createHash("sha256")
      .update(`${survey.surveyId}\n${survey.ownerName ?? ""}\n${survey.status}\n${publicQuestions}`)
      .digest("base64url")
      .slice(0, 27);
    return respond(body, { etag: `"${tag}"`, cache: { maxAge: 300, sMaxAge: 86_400, staleWhileRevalidate: 86_400 } });
  };

  /** No `Location`: an answer has no URL of its own (and hands out no id that could tie it to a friend). */
  const answer: Handler = async (ctx) => {
    const caller = await callers.optional(ctx.req);
    const { params, body } = await input(ctx, api.surveys.answer);
    const { receipt } = await surveys.answer(params.survey_id, body, { ip: callers.ip(ctx.req), callerUid: caller?.uid });
    // Shown once (no-store): the device keeps it to withdraw the answer; we keep only its hash.
    return respond({ survey_id: params.survey_id, accepted: true, receipt } satisfies Out<typeof AnswerAccepted>, { status: 201 });
  };

  /** Anyone holding the receipt; a wrong one, or a survey id that cannot exist, is 404 like an unknown answer. */
  const withdraw: Handler = async (ctx) => {
    const { params, body } = await input(ctx, api.surveys.withdraw, { notFound: NO_SUCH_ANSWER });
    await surveys.withdraw(params.survey_id, body.receipt);
    return respond({ survey_id: params.survey_id, withdrawn: true } satisfies Out<typeof AnswerWithdrawn>);
  };

  /** PUT answers with the new state: the picks as stored. */
  const self: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    const { params, body } = await input(ctx, api.surveys.self);
    const saved = await surveys.saveSelf(params.survey_id, caller.uid, body);
    const state: Out<typeof SelfAnswers> = {
      survey_id: params.survey_id,
      adjectives: saved.answers.adjectives,
      ratings: saved.answers.ratings ?? null,
    };
    return respond(state);
  };

  const summary: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    const { params } = await input(ctx, api.surveys.summary);
    const body: Out<typeof SurveySummary> = await surveys.summary(params.survey_id, caller.uid);
    return respond(body);
  };

  return { create, get, answer, withdraw, self, summary };
}
