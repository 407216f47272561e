/**
 * The one way a handler reads its request: through its operation in the contract. Query
 * first (400 `invalid_query` listing each bad parameter), then the body (`jsonBody`, then
 * 400 `validation_failed`), then the path ids last, just before the first storage call: an
 * id that cannot be one we issued answers exactly as an unknown one (404 with the same
 * message), never a 400 that tells shapes apart.
 */
import type { z } from "zod";
import { NO_SUCH_CHAT, NO_SUCH_REPLY } from "../../chats/chats.ts";
import { NO_SUCH_PERSONA } from "../../personas/personas.ts";
import { NO_SUCH_SURVEY } from "../../surveys/surveys.ts";
import type { Input, Operation } from "../contract/index.ts";
import { InvalidQuery, NotFound } from "../errors.ts";
import { jsonBody, type Context } from "../framework.ts";
import { issuesOf, parse } from "../validate.ts";

/** What a path id that names nothing is told, per parameter: the same as for an unknown one. */
const UNKNOWN: Record<string, string> = {
  survey_id: NO_SUCH_SURVEY,
  persona_id: NO_SUCH_PERSONA,
  other_persona_id: NO_SUCH_PERSONA,
  chat_id: NO_SUCH_CHAT,
  message_id: NO_SUCH_REPLY,
};

/**
 * `notFound`: what the route tells an unknown thing when that thing is not the path id's
 * (withdrawing names an answer under a survey: every miss is "No such answer").
 * @example const { params, body } = await input(ctx, api.chats.send);
 */
export async function input<O extends Operation>(ctx: Context, op: O, options: { notFound?: string } = {}): Promise<Input<O>> {
  const query = op.query ? queryOf(ctx, op.query) : {};
  const body = op.body ? parse(op.body, await jsonBody(ctx)) : undefined;
  const params: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(op.params?.shape ?? {})) {
    const result = (schema as z.ZodType).safeParse(ctx.params[name]);
    if (!result.success) throw new NotFound(options.notFound ?? UNKNOWN[name] ?? "Not found");
    params[name] = result.data;
  }
  return { params, query, body } as Input<O>;
}

/** The first value of each parameter, through the operation's query schema. */
function queryOf(ctx: Context, schema: z.ZodObject): Record<string, unknown> {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = ctx.query.get(name);
    if (value !== null) raw[name] = value;
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new InvalidQuery(issuesOf(result.error));
  return result.data;
}
