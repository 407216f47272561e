/**
 * The identity routes in an app of their own, configured for one AUTH_MODE and a local test
 * Google issuer, plus helpers to mint tokens with our real key or any other.
 */
import { UnsecuredJWT, importPKCS8, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { createApp, type AppLogger } from "../../backend/api/app.ts";
import { route } from "../../backend/api/framework.ts";
import { authHandlers } from "../../backend/api/handlers/auth.ts";
import type { App } from "../../backend/api/http.ts";
import { httpErrorFor } from "../../backend/api/domain-errors.ts";
import { callersFor } from "../../backend/api/identify.ts";
import { rateLimits } from "../../backend/data/rate-limit.ts";
import { Table } from "../../backend/data/table.ts";
import { identityOn } from "../../backend/identity/users.ts";
import { loadConfig, type AuthMode, type Config } from "../../backend/config.ts";
import { TEST_CLIENT_ID, type GoogleIssuer } from "./google-issuer.ts";

const quiet = { info() {}, error() {} };

export function identityConfig(mode: AuthMode, issuer: GoogleIssuer, env: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    AUTH_MODE: mode,
    GOOGLE_CLIENT_ID: TEST_CLIENT_ID,
    GOOGLE_ISSUERS: issuer.issuer,
    GOOGLE_JWKS_URL: issuer.jwksUrl,
    // Every suite signs in from 127.0.0.1 on the shared table: the per-IP limit has its own test (limits.test.ts).
    SIGN_INS_PER_IP_PER_HOUR: "0",
    ...env,
  });
}

/** The two identity routes, wired as routes.ts wires them. */
export function identityApp(config: Config, logger: AppLogger = quiet): App {
  const table = new Table(config.tableName);
  const auth = authHandlers({ identity: identityOn(table, rateLimits(table), config) }, callersFor(config));
  return createApp({
    routes: [route("POST", "/v1/auth/google", auth.signInWithGoogle), route("GET", "/v1/me", auth.me)],
    corsOrigins: ["*"],
    bodyLimitBytes: config.bodyLimitBytes,
    sseHeartbeatMs: config.sseHeartbeatMs,
    sseMaxLifeMs: config.sseMaxLifeMs,
    logger,
    mapError: httpErrorFor,
  });
}

/** The JSON headers of a sign-in request. */
export function signInRequest(idToken: unknown) {
  return {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id_token: idToken }),
  };
}

/** Claims of a well-formed app token for `config`, valid for an hour from now. */
export function appClaims(config: Config, claims: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: "g_42",
    email: "mirai@example.com",
    iss: config.jwtIssuer,
    aud: config.jwtAudience,
    iat: now,
    exp: now + 3600,
    jti: "jti-1",
    ...claims,
  };
}

/** The app's real signing key (the test run's JWT_PRIVATE_KEY). */
export function appSigningKey(): Promise<CryptoKey> {
  return importPKCS8(process.env.JWT_PRIVATE_KEY!, "ES256");
}

/** Signs `claims` as given (no defaults added), e.g. with a foreign key or another alg. */
export function signed(claims: JWTPayload, alg: string, key: CryptoKey | Uint8Array, header: Record<string, string> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT", ...header }).sign(key);
}

/** An `alg: none` token carrying `claims`. */
export function unsecured(claims: JWTPayload): string {
  return new UnsecuredJWT(claims).encode();
}

/** The token with its payload swapped for `claims`; header and signature untouched. */
export function withPayload(token: string, claims: JWTPayload): string {
  const [header, , signature] = token.split(".");
  return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
}
