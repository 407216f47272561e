/**
 * Users: one `USER#<uid> / PROFILE` item each. Knows no HTTP.
 *
 * Our uid for a Google account is `g_<sub>` (Google's stable subject id, never the e-mail,
 * which can change hands): the prefix keeps room for other sign-in providers without
 * collisions. Local mode uses whatever `x-user-uid` says.
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { keys } from "../data/keys.ts";
import { table } from "../data/table.ts";

/**
 * A uid as it may appear in keys and logs: no `#` (our key separator), no spaces or control
 * characters. Long enough for `g_` + Google's 255-character `sub`.
 */
export const UserId = z.string().regex(/^[A-Za-z0-9_.:@-]{1,300}$/, "must be 1-300 letters, digits or _.:@-");

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

export interface User {
  uid: string;
  /** Null only for a local-mode user created without `x-user-email`. */
  email: string | null;
  /** The name the user chose (`PUT /v1/me`), else the sign-in provider's; null when neither. */
  name: string | null;
  picture: string | null;
  /** ISO 8601; kept from the first sign-in on. */
  createdAt: string;
  updatedAt: string;
}

/**
 * As stored: `name` is the provider's (Google's claim, or local mode's `x-user-name`),
 * refreshed at every sign-in; `displayName` is the user's own choice and wins over it.
 */
const StoredUser = z.object({
  uid: z.string(),
  email: z.string().nullish(),
  name: z.string().nullish(),
  displayName: z.string().nullish(),
  picture: z.string().nullish(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function toUser(item: Record<string, unknown>): User {
  const { displayName, ...stored } = StoredUser.parse(item);
  return { ...stored, email: stored.email ?? null, name: displayName ?? stored.name ?? null, picture: stored.picture ?? null };
}

/** @example googleUserId("1184...") === "g_1184..." */
export function googleUserId(sub: string): string {
  return `g_${sub}`;
}

/**
 * Creates the user, or refreshes e-mail, name and picture of an existing one; `createdAt`
 * is written only the first time (`if_not_exists`), in one UpdateItem, so two concurrent
 * sign-ins cannot lose the creation date.
 */
export async function upsertUser(
  tableName: string,
  profile: { uid: string; email: string; name?: string | undefined; picture?: string | undefined },
  now = new Date(),
): Promise<User> {
  const names: Record<string, string> = { "#uid": "uid" };
  const values: Record<string, unknown> = { ":uid": profile.uid, ":email": profile.email, ":now": now.toISOString() };
  const sets = ["#uid = :uid", "email = :email", "updatedAt = :now", "createdAt = if_not_exists(createdAt, :now)"];
  // A claim Google left out keeps what we had rather than erasing it.
  for (const field of ["name", "picture"] as const) {
    if (profile[field] === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = profile[field];
    sets.push(`#${field} = :${field}`);
  }
  const result = await table().send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.user(profile.uid),
      UpdateExpression: `SET ${sets.join(", ")}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: "ALL_NEW",
    }),
  );
  return toUser(result.Attributes ?? {});
}

export async function getUser(tableName: string, uid: string): Promise<User | undefined> {
  const result = await table().send(new GetCommand({ TableName: tableName, Key: keys.user(uid) }));
  return result.Item ? toUser(result.Item) : undefined;
}

/**
 * Returns the user, creating a bare record the first time (local and API Gateway callers
 * never pass through our sign-in). Never overwrites what was stored, except the provider's
 * name when the caller brings one (local mode's `x-user-name` stands in for Google's
 * claim): one UpdateItem both creates and reads, with no race between a check and a write.
 */
export async function ensureUser(
  tableName: string,
  caller: { uid: string; email?: string | undefined; name?: string | undefined },
  now = new Date(),
): Promise<User> {
  const values: Record<string, unknown> = { ":uid": caller.uid, ":email": caller.email ?? null, ":now": now.toISOString() };
  let sets = "SET #uid = if_not_exists(#uid, :uid), email = if_not_exists(email, :email), createdAt = if_not_exists(createdAt, :now), updatedAt = if_not_exists(updatedAt, :now)";
  if (caller.name !== undefined) {
    values[":name"] = caller.name;
    sets += ", #name = :name";
  }
  const result = await table().send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.user(caller.uid),
      UpdateExpression: sets,
      ExpressionAttributeNames: { "#uid": "uid", ...(caller.name !== undefined ? { "#name": "name" } : {}) },
      ExpressionAttributeValues: values,
      ReturnValues: "ALL_NEW",
    }),
  );
  return toUser(result.Attributes ?? {});
}

/**
 * The caller's profile: read for callers holding our own token (minted at sign-in, which
 * wrote the user — none means the user is gone), created on first sight for the others.
 */
export async function profileOf(
  tableName: string,
  caller: { uid: string; email?: string | undefined; name?: string | undefined; via: string },
): Promise<User | undefined> {
  return caller.via === "app_token" ? getUser(tableName, caller.uid) : ensureUser(tableName, caller);
}

/** Sets the name the user chose; it wins over the provider's from then on. */
export async function chooseDisplayName(tableName: string, uid: string, name: string, now = new Date()): Promise<User> {
  const result = await table().send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.user(uid),
      UpdateExpression:
        "SET #uid = if_not_exists(#uid, :uid), displayName = :name, updatedAt = :now, createdAt = if_not_exists(createdAt, :now)",
      ExpressionAttributeNames: { "#uid": "uid" },
      ExpressionAttributeValues: { ":uid": uid, ":name": name, ":now": now.toISOString() },
      ReturnValues: "ALL_NEW",
    }),
  );
  return toUser(result.Attributes ?? {});
}
