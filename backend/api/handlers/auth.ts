/**
 * Sign-in and profile:
 *   POST /v1/auth/google  Google ID token → our JWT (JWT_TTL_SECONDS, 24 h by default) + the user, created or refreshed
 *   GET  /v1/me           the caller's profile
 *   PUT  /v1/me           the caller chooses their display name (shown on their survey)
 */
import type { Domains } from "../../compose.ts";
import { GoogleKeysUnavailableError } from "../../identity/google.ts";
import { InvalidTokenError } from "../../identity/tokens.ts";
import type { User } from "../../identity/users.ts";
import { api, type Profile, type SignedIn } from "../contract/index.ts";
import { withCause } from "../domain-errors.ts";
import { NotFound, ServiceUnavailable, Unauthorized } from "../errors.ts";
import { respond, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { input } from "./input.ts";

const profileView = (user: User): Profile => ({ user_id: user.uid, email: user.email, name: user.name, created_at: user.createdAt });

/** What only sign-in throws, as the API's errors; the rest goes through the app's one table. */
function signInError(error: unknown): unknown {
  if (error instanceof InvalidTokenError) return new Unauthorized(`Invalid Google ID token: ${error.message}`);
  if (error instanceof GoogleKeysUnavailableError)
    return withCause(new ServiceUnavailable("Sign-in is unavailable right now; try again later"), error);
  return error;
}

export function authHandlers({ identity }: Pick<Domains, "identity">, callers: Callers) {
  const signInWithGoogle: Handler = async (ctx) => {
    const { body } = await input(ctx, api.identity.signIn);
    const { token, expiresIn, user } = await identity
      .signInWithGoogle(body.id_token, { ip: callers.ip(ctx.req) })
      .catch((error: unknown) => {
        throw signInError(error);
      });
    return respond({ token, token_type: "Bearer", expires_in: expiresIn, user: profileView(user) } satisfies SignedIn);
  };

  /**
   * Our own JWT is minted only at sign-in, which writes the user, so a token without a record
   * means the user is gone: 404. Local-header and API Gateway callers never pass through our
   * sign-in: their record is created on first sight.
   */
  const me: Handler = async (ctx) => {
    const user = await identity.profileOf(await callers.required(ctx.req));
    if (!user) throw new NotFound("No profile for this user");
    return respond(profileView(user));
  };

  /** `{ "name": "…" }`: the caller's display name from now on, also on their open survey. */
  const updateMe: Handler = async (ctx) => {
    const caller = await callers.required(ctx.req);
    const { body } = await input(ctx, api.identity.updateMe);
    const user = await identity.chooseDisplayName(caller, body.name);
    if (!user) throw new NotFound("No profile for this user");
    return respond(profileView(user));
  };

  return { signInWithGoogle, me, updateMe };
}
