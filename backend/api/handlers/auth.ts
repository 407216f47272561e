/**
 * Sign-in and profile:
 *   POST /v1/auth/google  Google ID token → our JWT (JWT_TTL_SECONDS, 24 h by default) + the user, created or refreshed
 *   GET  /v1/me           the caller's profile
 *   PUT  /v1/me           the caller chooses their display name (shown on their survey)
 */
import { z } from "zod";
import type { Config } from "../../config.ts";
import { GoogleKeysUnavailableError, verifyGoogleIdToken } from "../../identity/google.ts";
import { InvalidTokenError, issueAppToken } from "../../identity/tokens.ts";
import { chooseDisplayName, DisplayName, googleUserId, profileOf, upsertUser, type User } from "../../identity/users.ts";
import { renameSurveyOwner } from "../../surveys/surveys.ts";
import { httpErrorFor, withCause } from "../domain-errors.ts";
import { NotFound, ServiceUnavailable, Unauthorized } from "../errors.ts";
import { jsonBody, respond, type Handler } from "../framework.ts";
import { requireCaller } from "../identify.ts";
import { parse } from "../validate.ts";

const GoogleSignIn = z.object({ id_token: z.string().min(1).max(8192) });
const ProfileChange = z.strictObject({ name: DisplayName });

const profileView = (user: User) => ({ uid: user.uid, email: user.email, name: user.name, created_at: user.createdAt });

/** Maps what the identity modules throw onto the API's errors. */
function asHttpError(error: unknown): unknown {
  if (error instanceof InvalidTokenError) return new Unauthorized(`Invalid Google ID token: ${error.message}`);
  if (error instanceof GoogleKeysUnavailableError) {
    return withCause(new ServiceUnavailable("Sign-in is unavailable right now; try again later"), error);
  }
  return httpErrorFor(error) ?? error;
}

export function signInWithGoogle(config: Config): Handler {
  return async (ctx) => {
    const input = parse(GoogleSignIn, await jsonBody(ctx));
    try {
      const google = await verifyGoogleIdToken(input.id_token, config);
      const uid = googleUserId(google.sub);
      // Signed before the write: a missing key fails the request without touching the table.
      const { token, expiresIn } = await issueAppToken({ uid, email: google.email }, config);
      const user = await upsertUser(config.tableName, { uid, email: google.email, name: google.name, picture: google.picture });
      return respond({ token, token_type: "Bearer", expires_in: expiresIn, user: { uid: user.uid, email: user.email, name: user.name } });
    } catch (error) {
      throw asHttpError(error);
    }
  };
}

/**
 * Our own JWT is minted only at sign-in, which writes the user, so a token without a record
 * means the user is gone: 404. Local-header and API Gateway callers never pass through our
 * sign-in: their record is created on first sight.
 */
export function me(config: Config): Handler {
  return async (ctx) => {
    const caller = await requireCaller(ctx.req, config);
    const user = await profileOf(config.tableName, caller);
    if (!user) throw new NotFound("No profile for this user");
    return respond(profileView(user));
  };
}

/** `{ "name": "…" }`: the caller's display name from now on, also on their open survey. */
export function updateMe(config: Config): Handler {
  return async (ctx) => {
    const caller = await requireCaller(ctx.req, config);
    const { name } = parse(ProfileChange, await jsonBody(ctx));
    if (!(await profileOf(config.tableName, caller))) throw new NotFound("No profile for this user");
    const user = await chooseDisplayName(config.tableName, caller.uid, name);
    await renameSurveyOwner(config.tableName, caller.uid, name);
    return respond(profileView(user));
  };
}
