/**
 * What a display name may be. Zod only (no I/O), so the API contract, and through it a
 * browser client, validates names exactly as the domain does.
 */
import { z } from "zod";

/** Controls, format characters (zero-width, bidi overrides) and angle brackets: never in a name. */
const NOT_IN_NAME = /[\p{Cc}\p{Cf}<>]/u;

/**
 * A display name as friends see it on the survey: plain text, 1–60 characters after trimming.
 * @example DisplayName.parse("  Mirai Tanaka ") === "Mirai Tanaka"
 */
export const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(60)
  .refine((name) => !NOT_IN_NAME.test(name), "must be plain text (no control characters or angle brackets)");
