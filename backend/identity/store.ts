/**
 * Users on the single table: one `USER#<uid> / PROFILE` item each. Every DynamoDB
 * expression of the identity domain lives here.
 */
import { keys } from "../data/keys.ts";
import type { Table } from "../data/table.ts";
import { toUser, type User } from "./users.ts";

export interface SignInProfile {
  uid: string;
  email: string;
  name?: string | undefined;
  picture?: string | undefined;
}

export function userStore(table: Table) {
  const returned = async (update: Parameters<Table["update"]>[0]): Promise<User> =>
    toUser((await table.update({ ...update, ReturnValues: "ALL_NEW" })).Attributes ?? {});

  return {
    /**
     * Creates the user, or refreshes e-mail, name and picture of an existing one; `createdAt`
     * is written only the first time (`if_not_exists`), in one UpdateItem, so two concurrent
     * sign-ins cannot lose the creation date.
     */
    signedIn(profile: SignInProfile, now = new Date()): Promise<User> {
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
      return returned({
        Key: keys.user(profile.uid),
        UpdateExpression: `SET ${sets.join(", ")}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
    },

    async find(uid: string): Promise<User | undefined> {
      const item = await table.get(keys.user(uid));
      return item ? toUser(item) : undefined;
    },

    /**
     * The user, created bare the first time (local and API Gateway callers never pass through
     * our sign-in). Never overwrites what was stored, except the provider's name when the
     * caller brings one: one UpdateItem both creates and reads, with no race between a check
     * and a write.
     */
    ensure(caller: { uid: string; email?: string | undefined; name?: string | undefined }, now = new Date()): Promise<User> {
      const values: Record<string, unknown> = { ":uid": caller.uid, ":email": caller.email ?? null, ":now": now.toISOString() };
      let sets =
        "SET #uid = if_not_exists(#uid, :uid), email = if_not_exists(email, :email), " +
        "createdAt = if_not_exists(createdAt, :now), updatedAt = if_not_exists(updatedAt, :now)";
      if (caller.name !== undefined) {
        values[":name"] = caller.name;
        sets += ", #name = :name";
      }
      return returned({
        Key: keys.user(caller.uid),
        UpdateExpression: sets,
        ExpressionAttributeNames: { "#uid": "uid", ...(caller.name !== undefined ? { "#name": "name" } : {}) },
        ExpressionAttributeValues: values,
      });
    },

    /** Deletes up to `limit` items left in the user's partition (the last step of an account's deletion). */
    forgetAll: (uid: string, limit: number) => table.deleteItemsOf(keys.userItems(uid).PK, { limit }),

    /** The name the user chose; it wins over the provider's from then on. */
    chooseName(uid: string, name: string, now = new Date()): Promise<User> {
      return returned({
        Key: keys.user(uid),
        UpdateExpression:
          "SET #uid = if_not_exists(#uid, :uid), displayName = :name, updatedAt = :now, createdAt = if_not_exists(createdAt, :now)",
        ExpressionAttributeNames: { "#uid": "uid" },
        ExpressionAttributeValues: { ":uid": uid, ":name": name, ":now": now.toISOString() },
      });
    },
  };
}

export type UserStore = ReturnType<typeof userStore>;
