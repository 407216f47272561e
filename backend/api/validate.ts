/** Request input through a schema: the typed value, or a 400 listing every bad field. */
import type { z } from "zod";
import { ValidationFailed } from "./errors.ts";

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
