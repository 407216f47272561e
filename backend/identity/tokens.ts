/**
 * The app's own JWT: ES256, `JWT_TTL_SECONDS` (24 h by default), claims `sub` (our uid), `email`, `iss`, `aud`, `iat`,
 * `exp`, `jti`. Signed here at sign-in; verified here (API) and by the Lambda@Edge function
 * (issue 7) with the same public key.
 *
 * Keys: `JWT_PRIVATE_KEY` (PKCS#8 PEM) and `JWT_PUBLIC_KEY` (SPKI PEM), imported on first use
 * and kept. Tokens and keys are never logged, and no error message quotes them.
 */
import { randomUUID } from "node:crypto";
import { SignJWT, errors, importPKCS8, importSPKI, jwtVerify, type CryptoKey } from "jose";
import { z } from "zod";
import type { Config } from "../config.ts";
import { NotConfiguredError } from "../errors.ts";
import { UserId } from "../data/ids.ts";

export const APP_TOKEN_ALG = "ES256";
/** Clock skew we forgive between the machines that sign and verify. */
const CLOCK_TOLERANCE_SECONDS = 30;

/** `jwtTtlSeconds` is both the lifetime we sign and the longest lifetime we accept. */
export type TokenSettings = Pick<Config, "jwtIssuer" | "jwtAudience" | "jwtTtlSeconds">;

/** A token that is malformed, forged, expired or meant for someone else. */
export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** jose failures that mean "this token is bad", as opposed to "we could not check it". */
const REJECTIONS: ReadonlySet<string> = new Set([
  errors.JWSInvalid.code,
  errors.JWTInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
]);

/** Turns a jose rejection into `InvalidTokenError` (with jose's reason, never the token). */
export function toInvalidToken(error: unknown): unknown {
  return error instanceof errors.JOSEError && REJECTIONS.has(error.code) ? new InvalidTokenError(error.message) : error;
}

/** What our verified token says about its holder. */
const AppTokenClaims = z.object({ sub: UserId, email: z.string().max(320), jti: z.string().min(1), iat: z.number() });
export type AppTokenClaims = z.infer<typeof AppTokenClaims>;

/** One import per PEM: the promise is kept, and a changed variable (tests) is re-read. */
function keyFromEnv(name: string, load: (pem: string) => Promise<CryptoKey>): () => Promise<CryptoKey> {
  let cached: { pem: string; key: Promise<CryptoKey> } | undefined;
  return () => {
    const pem = process.env[name];
    if (!pem) throw new NotConfiguredError(`${name} is not set`);
    if (cached?.pem !== pem) {
      const key = load(pem).catch(() => {
        cached = undefined;
        throw new NotConfiguredError(`${name} is not a valid ${APP_TOKEN_ALG} key`);
      });
      cached = { pem, key };
    }
    return cached.key;
  };
}

const signingKey = keyFromEnv("JWT_PRIVATE_KEY", (pem) => importPKCS8(pem, APP_TOKEN_ALG));
const verificationKey = keyFromEnv("JWT_PUBLIC_KEY", (pem) => importSPKI(pem, APP_TOKEN_ALG));

/**
 * Signs a token for a signed-in user, valid for `jwtTtlSeconds`.
 * @example const { token } = await issueAppToken({ uid: user.uid, email: user.email }, config);
 */
export async function issueAppToken(
  holder: { uid: string; email: string },
  settings: TokenSettings,
  now = new Date(),
): Promise<{ token: string; expiresIn: number }> {
  const token = await new SignJWT({ email: holder.email })
    .setProtectedHeader({ alg: APP_TOKEN_ALG, typ: "JWT" })
    .setSubject(holder.uid)
    .setIssuer(settings.jwtIssuer)
    .setAudience(settings.jwtAudience)
    .setIssuedAt(now)
    .setExpirationTime(Math.floor(now.getTime() / 1000) + settings.jwtTtlSeconds)
    .setJti(randomUUID())
    .sign(await signingKey());
  return { token, expiresIn: settings.jwtTtlSeconds };
}

/**
 * Verifies one of our tokens: ES256 only (no `none`, no HMAC with the public key), our
 * issuer and audience, not expired, not issued in the future, and living no longer than
 * we sign for (a token minted with a stolen key or a misconfigured signer for years would
 * otherwise pass until then). Throws `InvalidTokenError`, or `NotConfiguredError` when the
 * public key is missing.
 */
export async function verifyAppToken(token: string, settings: TokenSettings): Promise<AppTokenClaims> {
  const key = await verificationKey();
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [APP_TOKEN_ALG],
      typ: "JWT",
      issuer: settings.jwtIssuer,
      audience: settings.jwtAudience,
      // jose checks `exp` only when present: a token without one must not live forever.
      requiredClaims: ["exp", "iat", "sub", "jti"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      // Also refuses an `iat` in the future (beyond the tolerance).
      maxTokenAge: settings.jwtTtlSeconds,
    });
    if (payload.exp! - payload.iat! > settings.jwtTtlSeconds) {
      throw new InvalidTokenError(`the token's lifetime exceeds the maximum of ${settings.jwtTtlSeconds} seconds`);
    }
    const claims = AppTokenClaims.safeParse(payload);
    if (!claims.success) throw new InvalidTokenError("The token's claims are malformed");
    return claims.data;
  } catch (error) {
    throw toInvalidToken(error);
  }
}
