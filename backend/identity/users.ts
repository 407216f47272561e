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

export interface User {
  uid: string;
  /** Null only for a local-mode user created without `x-user-email`. */
  email: string | null;
  name: string | null;
  picture: string | null;
  /** ISO 8601; kept from the first sign-in on. */
  createdAt: string;
  updatedAt: string;
}

const StoredUser = z.object({
  uid: z.string(),
  email: z.string().nullish(),
  name: z.string().nullish(),
  picture: z.string().nullish(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function toUser(item: Record<string, unknown>): User {
  const stored = StoredUser.parse(item);
  return { ...stored, email: stored.email ?? null, name: stored.name ?? null, picture: stored.picture ?? null };
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
 * never pass through our sign-in). Never overwrites: every field is `if_not_exists`, so one
 * UpdateItem both creates and reads, with no race between a check and a write.
 */
export async function ensureUser(tableName: string, caller: { uid: string; email?: string | undefined }, now = new Date()): Promise<User> {
  const result = await table().send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.user(caller.uid),
      UpdateExpression:
        "SET #uid = if_not_exists(#uid, :uid), email = if_not_exists(email, :email), " +
        "createdAt = if_not_exists(createdAt, :now), updatedAt = if_not_exists(updatedAt, :now)",
      ExpressionAttributeNames: { "#uid": "uid" },
      ExpressionAttributeValues: { ":uid": caller.uid, ":email": caller.email ?? null, ":now": now.toISOString() },
      ReturnValues: "ALL_NEW",
    }),
  );
  return toUser(result.Attributes ?? {});
}
