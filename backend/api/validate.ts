/** Request input through a schema: the typed value, or a 400 listing every bad field. */
import type { z } from "zod";
import { NotFound, ValidationFailed } from "./errors.ts";
import type { Context } from "./framework.ts";

/**
 * @example const input = parse(FriendAnswerInput, await jsonBody(ctx));
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationFailed(
    result.error.issues.map((issue) => ({
      path: issue.path.length ? issue.path.join(".") : "(body)",
      message: issue.message,
      ...("keys" in issue && Array.isArray(issue.keys) ? { keys: issue.keys } : {}),
    })),
  );
}

/**
 * A path id through its shape, before any storage call: an id that cannot be one we issued
 * is answered exactly as an unknown one (404 with the route's `unknown` message), never a
 * 400 that tells shapes apart, never a 500 from the table. The one way handlers read ids.
 * @example const surveyId = pathId(ctx, "id", SurveyId, NO_SUCH_SURVEY);
 */
export function pathId<S extends z.ZodType<string>>(ctx: Context, name: string, schema: S, unknown: string): z.infer<S> {
  const result = schema.safeParse(ctx.params[name]);
  if (result.success) return result.data;
  throw new NotFound(unknown);
}
