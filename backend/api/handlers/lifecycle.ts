/**
 * The data's life, as routes:
 *   DELETE /v1/me                      the account and everything about it
 *   GET    /v1/me/export               everything about the caller, one JSON document (streamed)
 *   DELETE /v1/personas/me             the persona only (chats with it become read-only)
 *   GET    /v1/personas/me/portrait    the owner's own portrait, also while private
 *   POST   /v1/surveys/:survey_id/close   no more answers
 *   POST   /v1/surveys/:survey_id/reopen  a new round of asking: a new open survey after the closed one
 *   DELETE /v1/surveys/:survey_id         the survey, its answers, receipts, rounds and counters
 * A deletion answers 200 `{ "status": "deleted" }` when it finished inside the request, else
 * 202 `{ "status": "deleting" }`: hidden already, finished in the background. Each is described
 * in the contract (contract/lifecycle.ts).
 */
import type { z } from "zod";
import type { Domains } from "../../compose.ts";
import { api, type SurveyClosed, type SurveyReopened } from "../contract/index.ts";
import { respond, streamBody, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { input } from "./input.ts";
import type { Links } from "./links.ts";

const deletion = ({ status }: { status: "deleted" | "deleting" }) => respond({ status }, { status: status === "deleted" ? 200 : 202 });

export function lifecycleHandlers(
  { identity, surveys, personas, lifecycle }: Pick<Domains, "identity" | "surveys" | "personas" | "lifecycle">,
  callers: Callers,
  links: Links,
) {
  const deleteAccount: Handler = async (ctx) => deletion(await lifecycle.deleteAccount((await callers.required(ctx.req)).uid));

  /** Streamed as it is read; the contract's `AccountExport` describes the document. */
  const exportAccount: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const chunks = await lifecycle.exportOf(uid);
    const day = new Date().toISOString().slice(0, 10);
    return streamBody(chunks, {
      "content-type": "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="remirai-export-${day}.json"`,
    });
  };

  const deletePersona: Handler = async (ctx) => deletion(await lifecycle.deletePersona((await callers.required(ctx.req)).uid));

  /** Never cached by a shared cache: the portrait may be private. */
  const ownPortrait: Handler = async (ctx) => {
    const portrait = await personas.ownPortrait((await callers.required(ctx.req)).uid);
    return {
      kind: "body",
      status: 200,
      headers: { "content-type": portrait.contentType, "cache-control": "private, no-store", "x-content-type-options": "nosniff" },
      body: portrait.bytes,
    };
  };

  const closeSurvey: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params } = await input(ctx, api.lifecycle.closeSurvey);
    await surveys.close(params.survey_id, uid);
    return respond({ survey_id: params.survey_id, status: "closed" } satisfies z.output<typeof SurveyClosed>);
  };

  const reopenSurvey: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    const { params } = await input(ctx, api.lifecycle.reopenSurvey);
    // Read, never created here: a request naming a survey that is not the caller's writes nothing.
    const profile = await identity.profile(caller.uid);
    const next = await surveys.reopen(params.survey_id, { uid: caller.uid, name: profile?.name ?? caller.name ?? undefined });
    const body: z.output<typeof SurveyReopened> = {
      survey_id: next.surveyId,
      survey_url: links.survey(next.surveyId),
      previous_survey_id: params.survey_id,
    };
    return respond(body, { status: 201, headers: { location: links.api(`/v1/surveys/${encodeURIComponent(next.surveyId)}`) } });
  };

  const deleteSurvey: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params } = await input(ctx, api.lifecycle.deleteSurvey);
    return deletion(await lifecycle.deleteSurvey(uid, params.survey_id));
  };

  return { deleteAccount, exportAccount, deletePersona, ownPortrait, closeSurvey, reopenSurvey, deleteSurvey };
}
