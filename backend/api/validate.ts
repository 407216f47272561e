/** Request input through a schema: the typed value, or a 400 listing every bad field. */
import type { z } from "zod";
import { type FieldError, ValidationFailed } from "./errors.ts";

/** Each issue as a bad field: its dotted path (`(body)` for the whole), the message, unknown keys. */
export function issuesOf(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.join(".") : "(body)",
    message: issue.message,
    ...("keys" in issue && Array.isArray(issue.keys) ? { keys: issue.keys as string[] } : {}),
  }));
}

/**
 * @example const input = parse(FriendAnswerInput, await jsonBody(ctx));
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationFailed(issuesOf(result.error));
}
