/**
 * The data's life, as routes:
 *   DELETE /v1/me                      the account and everything about it
 *   GET    /v1/me/export               everything about the caller, one JSON document (streamed)
 *   DELETE /v1/personas/me             the persona only (chats with it become read-only)
 *   GET    /v1/personas/me/portrait    the owner's own portrait, also while private
 *   POST   /v1/surveys/:id/close       no more answers
 *   POST   /v1/surveys/:id/reopen      a new round: a new open survey after the closed one
 *   DELETE /v1/surveys/:id             the survey, its answers and counters
 * A deletion answers 200 `{ "status": "deleted" }` when it finished inside the request, else
 * 202 `{ "status": "deleting" }`: hidden already, finished in the background.
 */
import type { Domains } from "../../compose.ts";
import { SurveyId } from "../../data/ids.ts";
import { NO_SUCH_SURVEY } from "../../surveys/surveys.ts";
import { respond, streamBody, type Context, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { pathId } from "../validate.ts";

const surveyId = (ctx: Context) => pathId(ctx, "id", SurveyId, NO_SUCH_SURVEY);

const deletion = ({ status }: { status: "deleted" | "deleting" }) => respond({ status }, { status: status === "deleted" ? 200 : 202 });

export function lifecycleHandlers(
  { identity, surveys, personas, lifecycle, config }: Pick<Domains, "identity" | "surveys" | "personas" | "lifecycle" | "config">,
  callers: Callers,
) {
  const surveyUrl = (id: string) => `${config.publicBaseUrl}/s/${encodeURIComponent(id)}`;

  const deleteAccount: Handler = async (ctx) => deletion(await lifecycle.deleteAccount((await callers.required(ctx.req)).uid));

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
    const id = surveyId(ctx);
    await surveys.close(id, uid);
    return respond({ survey_id: id, status: "closed" });
  };

  const reopenSurvey: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    const id = surveyId(ctx);
    // Read, never created here: a request naming a survey that is not the caller's writes nothing.
    const profile = await identity.profile(caller.uid);
    const next = await surveys.reopen(id, { uid: caller.uid, name: profile?.name ?? caller.name ?? undefined });
    return respond(
      { survey_id: next.surveyId, survey_url: surveyUrl(next.surveyId), previous_survey_id: id },
      { status: 201, headers: { location: `/v1/surveys/${encodeURIComponent(next.surveyId)}` } },
    );
  };

  const deleteSurvey: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    return deletion(await lifecycle.deleteSurvey(uid, surveyId(ctx)));
  };

  return { deleteAccount, exportAccount, deletePersona, ownPortrait, closeSurvey, reopenSurvey, deleteSurvey };
}
