/**
 * The shapes of the ids we hand out. An id from outside (a path, a body) is checked against
 * its shape before it reaches a key: one that does not fit cannot name anything we stored,
 * so it is treated exactly as an unknown id, and it never reaches DynamoDB (where a long
 * one is a ValidationException and a `#` would reach into another key's space).
 */
import { z } from "zod";

const base64url = (bytes: number) => new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`);

/** `randomBytes(16).toString("base64url")`: 22 characters (surveys/surveys.ts). */
export const SurveyId = z.string().regex(base64url(16));

/** `randomBytes(12).toString("base64url")`: 16 characters (personas/saga.ts). */
export const PersonaId = z.string().regex(base64url(12));

/** A persona id, or `me` for the caller's own persona, where a route allows it. */
export const PersonaRef = z.union([z.literal("me"), PersonaId]);

/** chats/ids.ts `timeOrderedId`: 13 base-36 characters of time and counter, 8 random base64url. */
export const ChatId = z.string().regex(/^[0-9a-z]{13}[A-Za-z0-9_-]{8}$/);

/** Messages (and replies) are named by time-ordered ids too. */
export const MessageId = ChatId;

/**
 * A uid as it may appear in keys and logs: no `#` (our key separator), no spaces or control
 * characters. Long enough for `g_` + Google's 255-character `sub`.
 */
export const UserId = z.string().regex(/^[A-Za-z0-9_.:@-]{1,300}$/, "must be 1-300 letters, digits or _.:@-");
