/**
 * Users and sign-in, in the product's words (no HTTP, no DynamoDB: the store has those).
 *
 * Our uid for a Google account is `g_<sub>` (Google's stable subject id, never the e-mail,
 * which can change hands): the prefix keeps room for other sign-in providers without
 * collisions. Local mode uses whatever `x-user-uid` says.
 */
import { z } from "zod";
import type { Config } from "../config.ts";

export { UserId } from "../data/ids.ts";
import { ipPseudonym } from "../data/pseudonym.ts";
import type { RateLimits } from "../data/rate-limit.ts";
import type { Table } from "../data/table.ts";
import { ConflictError } from "../errors.ts";
import { verifyGoogleIdToken } from "./google.ts";
import { userStore } from "./store.ts";
import { issueAppToken } from "./tokens.ts";

export { DisplayName } from "./names.ts";

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

export function toUser(item: Record<string, unknown>): User {
  const { displayName, ...stored } = StoredUser.parse(item);
  return { ...stored, email: stored.email ?? null, name: displayName ?? stored.name ?? null, picture: stored.picture ?? null };
}

/** @example googleUserId("1184...") === "g_1184..." */
export function googleUserId(sub: string): string {
  return `g_${sub}`;
}

/** Who is asking, as the identity sources (tokens, headers, authorizers) vouch for it. */
export interface CallerIdentity {
  uid: string;
  email?: string | undefined;
  name?: string | undefined;
  /** `app_token`: our own JWT, minted only at sign-in, which writes the user. */
  via: string;
}

export type IdentitySettings = Pick<
  Config,
  "googleClientId" | "googleIssuers" | "googleJwksUrl" | "jwtIssuer" | "jwtAudience" | "jwtTtlSeconds" | "signInsPerIpPerHour"
>;

export interface IdentityHooks {
  /** A new display name (the open survey shows it). */
  onRenamed?: (uid: string, name: string) => Promise<void>;
  /** Whether the account's deletion is still running (then it cannot sign up again yet). */
  accountDeleting?: (uid: string) => Promise<boolean>;
}

/**
 * The identity domain bound to its table and limits: sign-in, profiles and display names.
 * `onRenamed` is the cross-domain part of a new display name (the open survey shows it).
 * @example const identity = identityOn(table, limits, config, { onRenamed: surveys.renameOwner });
 */
export function identityOn(table: Table, limits: RateLimits, settings: IdentitySettings, hooks: IdentityHooks = {}) {
  const users = userStore(table);

  /**
   * The caller's profile: read for callers holding our own token (none means the user is
   * gone), created on first sight for the others.
   */
  const profileOf = (caller: CallerIdentity): Promise<User | undefined> =>
    caller.via === "app_token" ? users.find(caller.uid) : users.ensure(caller);

  return {
    profileOf,

    /**
     * A Google ID token for our own token and the user, created or refreshed. Attempts are
     * counted per client IP (before the token is even looked at: guessing costs the guesser).
     */
    async signInWithGoogle(idToken: string, from: { ip: string }): Promise<{ token: string; expiresIn: number; user: User }> {
      await limits.consume(
        { scope: "sign-in", name: "sign_ins_per_ip", limit: settings.signInsPerIpPerHour, windowSeconds: 3600 },
        { ip: ipPseudonym(from.ip) },
      );
      const google = await verifyGoogleIdToken(idToken, settings);
      const uid = googleUserId(google.sub);
      if (await hooks.accountDeleting?.(uid))
        throw new ConflictError("This account is still being deleted; sign up again in a few minutes", "account_deletion_in_progress");
      // Signed before the write: a missing key fails the sign-in without touching the table.
      const { token, expiresIn } = await issueAppToken({ uid, email: google.email }, settings);
      const user = await users.signedIn({ uid, email: google.email, name: google.name, picture: google.picture });
      return { token, expiresIn, user };
    },

    /** The stored profile, never created (an export). */
    profile: (uid: string): Promise<User | undefined> => users.find(uid),

    /** Deletes up to `limit` items left in the user's partition; `done` when it is empty (lifecycle). */
    forget: (uid: string, limit: number) => users.forgetAll(uid, limit),

    /** The caller's display name from now on; `undefined` when the caller has no profile. */
    async chooseDisplayName(caller: CallerIdentity, name: string): Promise<User | undefined> {
      if (!(await profileOf(caller))) return undefined;
      const user = await users.chooseName(caller.uid, name);
      await hooks.onRenamed?.(caller.uid, name);
      return user;
    },
  };
}

export type Identity = ReturnType<typeof identityOn>;
