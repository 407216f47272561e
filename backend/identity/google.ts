/**
 * Google sign-in: verifies a Google ID token against Google's published keys (JWKS) and
 * returns who it vouches for. In tests the JWKS URL and issuer point at a local test issuer.
 *
 * Checked: RS256 only, issuer in `googleIssuers`, audience = our OAuth client id, `exp` and
 * `iat` present and `exp` not passed, `sub` and a verified `email` present.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { z } from "zod";
import type { Config } from "../config.ts";
import { NotConfiguredError } from "../errors.ts";
import { InvalidTokenError, toInvalidToken } from "./tokens.ts";

export type GoogleSettings = Pick<Config, "googleClientId" | "googleIssuers" | "googleJwksUrl">;

/** Clock skew we forgive between Google and us. */
const CLOCK_TOLERANCE_SECONDS = 30;

const GoogleClaims = z.object({
  // Google: "up to 255 case-sensitive ASCII characters", stable for the account.
  sub: z.string().regex(/^[\x21-\x7e]{1,255}$/),
  email: z.email().max(320),
  // An unverified address could belong to anyone: it must never become a login.
  email_verified: z.literal(true),
  // Profile extras: a bad one is dropped, never a reason to refuse the sign-in.
  name: z
    .string()
    .transform((name) => name.slice(0, 200))
    .optional()
    .catch(undefined),
  picture: z
    .url({ protocol: /^https$/ })
    .max(2048)
    .optional()
    .catch(undefined),
});
export type GoogleIdentity = z.infer<typeof GoogleClaims>;

/** Google's keys could not be fetched, so no token can be judged right now. */
export class GoogleKeysUnavailableError extends Error {
  override name = "GoogleKeysUnavailableError";
}

// One key set per URL for the process: jose caches the keys and refetches on an unknown `kid`.
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySet(url: string): ReturnType<typeof createRemoteJWKSet> {
  let keys = keySets.get(url);
  if (!keys) keySets.set(url, (keys = createRemoteJWKSet(new URL(url))));
  return keys;
}

/**
 * @example const google = await verifyGoogleIdToken(body.id_token, config);
 * @throws NotConfiguredError without a client id, InvalidTokenError for any bad token,
 *   GoogleKeysUnavailableError when the JWKS cannot be fetched.
 */
export async function verifyGoogleIdToken(idToken: string, settings: GoogleSettings): Promise<GoogleIdentity> {
  if (!settings.googleClientId) throw new NotConfiguredError("Google sign-in is not configured");
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keySet(settings.googleJwksUrl), {
      algorithms: ["RS256"],
      issuer: settings.googleIssuers,
      audience: settings.googleClientId,
      // jose checks `exp` only when present: a token without one must not live forever.
      requiredClaims: ["exp", "iat", "sub"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    const mapped = toInvalidToken(error);
    if (mapped instanceof InvalidTokenError) throw mapped;
    throw new GoogleKeysUnavailableError("Google's signing keys could not be fetched", { cause: error });
  }
  const claims = GoogleClaims.safeParse(payload);
  if (!claims.success) {
    throw new InvalidTokenError(`missing or invalid claims: ${claims.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  }
  return claims.data;
}
