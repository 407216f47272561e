/**
 * Forged and misused JWTs, on both sides: Google ID tokens presented to /v1/auth/google, and
 * our own tokens presented to our verifier (directly and through /v1/me in edge mode). Each
 * attack would succeed against a verifier that trusted the token's header or skipped a
 * check, and each is refused for its own reason (not by accident of another check).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { decodeJwt, exportSPKI, generateKeyPair, type JWTPayload } from "jose";
import { InvalidTokenError, issueAppToken, verifyAppToken } from "../backend/identity/tokens.ts";
import { TEST_CLIENT_ID, startGoogleIssuer, type GoogleIssuer } from "./support/google-issuer.ts";
import {
  appClaims,
  appSigningKey,
  identityApp,
  identityConfig,
  signInRequest,
  signed,
  unsecured,
  withPayload,
} from "./support/identity.ts";
import { nodeTarget, type Target } from "./support/targets.ts";
import { Table } from "../backend/data/table.ts";
import { userStore } from "../backend/identity/store.ts";

let issuer: GoogleIssuer;
let target: Target;
const config = () => identityConfig("edge", issuer);
before(async () => {
  issuer = await startGoogleIssuer();
  target = await nodeTarget(identityApp(config()));
});
after(async () => {
  await target.close();
  await issuer.close();
});

const now = () => Math.floor(Date.now() / 1000);
/** A public key as the HMAC secret of an algorithm-confusion attack. */
const pemBytes = (pem: string) => new TextEncoder().encode(pem);
const ALG_REFUSED = /"alg" \(Algorithm\) Header Parameter value not allowed/;
const BAD_SIGNATURE = /signature verification failed/;

type Attack<T> = [name: string, reason: RegExp, mint: (subject: T) => Promise<string> | string];

describe("Google ID tokens that /v1/auth/google refuses", () => {
  const attacks: Attack<string>[] = [
    ["alg none", ALG_REFUSED, (sub) => unsecured(googleClaims(sub))],
    [
      "signed with a foreign key under the issuer's kid",
      BAD_SIGNATURE,
      async (sub) => signed(googleClaims(sub), "RS256", (await generateKeyPair("RS256")).privateKey, { kid: issuer.kid }),
    ],
    [
      "signed with a key the JWKS does not list",
      /no applicable key found/,
      async (sub) => signed(googleClaims(sub), "RS256", (await generateKeyPair("RS256")).privateKey, { kid: "attacker" }),
    ],
    ["expired", /"exp" claim timestamp check failed/, (sub) => issuer.idToken({ sub, iat: now() - 7200, exp: now() - 3600 })],
    ["wrong audience", /unexpected "aud"/, (sub) => issuer.idToken({ sub, aud: "someone-elses-client.apps.googleusercontent.com" })],
    ["wrong issuer", /unexpected "iss"/, (sub) => issuer.idToken({ sub, iss: "https://accounts.evil.test" })],
    ["tampered payload", BAD_SIGNATURE, async (sub) => withPayload(await issuer.idToken({ sub: randomUUID() }), googleClaims(sub))],
    [
      "HS256 keyed with the issuer's public key",
      ALG_REFUSED,
      async (sub) => signed(googleClaims(sub), "HS256", pemBytes(await exportSPKI(issuer.publicKey)), { kid: issuer.kid }),
    ],
    ["without exp", /missing required "exp"/, (sub) => issuer.idToken({ sub, exp: undefined })],
    ["e-mail not verified", /email_verified/, (sub) => issuer.idToken({ sub, email_verified: false })],
    ["not a JWT at all", /JWS/, () => "not.a.jwt"],
  ];

  for (const [name, reason, mint] of attacks) {
    test(name, async () => {
      // Prepare
      const sub = randomUUID();
      const idToken = await mint(sub);

      // Act
      const res = await target.request("/v1/auth/google", signInRequest(idToken));

      // Assess
      assert.equal(res.status, 401);
      const { error } = JSON.parse(res.body);
      assert.equal(error.code, "unauthorized");
      assert.match(error.message, reason);
      assert.equal(await userStore(new Table(config().tableName)).find(`g_${sub}`), undefined, "no user was written");
    });
  }

  test("control: the same claims, properly signed, do sign in", async () => {
    // Prepare
    const sub = randomUUID();

    // Act
    const res = await target.request("/v1/auth/google", signInRequest(await issuer.idToken(googleClaims(sub))));

    // Assess
    assert.equal(res.status, 200);
    assert.equal((await userStore(new Table(config().tableName)).find(`g_${sub}`))?.uid, `g_${sub}`);
  });
});

describe("our own tokens that our verifier and /v1/me refuse", () => {
  const ours = async (claims: JWTPayload) => signed(claims, "ES256", await appSigningKey());
  const attacks: Attack<JWTPayload>[] = [
    ["alg none", ALG_REFUSED, (claims) => unsecured(claims)],
    ["signed with a foreign key", BAD_SIGNATURE, async (claims) => signed(claims, "ES256", (await generateKeyPair("ES256")).privateKey)],
    ["expired", /"exp" claim timestamp check failed/, (claims) => ours({ ...claims, iat: now() - 7200, exp: now() - 3600 })],
    ["wrong audience", /unexpected "aud"/, (claims) => ours({ ...claims, aud: "another-api" })],
    ["wrong issuer", /unexpected "iss"/, (claims) => ours({ ...claims, iss: "https://evil.test" })],
    [
      "tampered payload",
      BAD_SIGNATURE,
      async (claims) => {
        const { token } = await issueAppToken({ uid: "g_attacker", email: "attacker@example.com" }, config());
        return withPayload(token, { ...decodeJwt(token), sub: claims.sub, email: claims.email });
      },
    ],
    ["HS256 keyed with our public key", ALG_REFUSED, (claims) => signed(claims, "HS256", pemBytes(process.env.JWT_PUBLIC_KEY!))],
    ["without exp", /missing required "exp"/, (claims) => ours({ ...claims, exp: undefined })],
    ["a Google ID token instead of ours", ALG_REFUSED, (claims) => issuer.idToken({ sub: claims.sub })],
    [
      "issued in the future",
      /"iat" claim timestamp check failed \(it should be in the past\)/,
      (claims) => ours({ ...claims, iat: now() + 3600, exp: now() + 7200 }),
    ],
    [
      "living longer than the maximum",
      /lifetime exceeds the maximum of 86400 seconds/,
      (claims) => ours({ ...claims, iat: now() - 60, exp: now() - 60 + 86_400 + 1 }),
    ],
  ];

  for (const [name, reason, mint] of attacks) {
    test(name, async () => {
      // Prepare
      const claims = appClaims(config(), { sub: `g_victim-${randomUUID()}` });
      const token = await mint(claims);

      // Act
      const verified = await verifyAppToken(token, config()).catch((error: unknown) => error);
      const res = await target.request("/v1/me", { headers: { "x-remirai-token": token, "x-user-uid": String(claims.sub) } });

      // Assess
      assert.ok(verified instanceof InvalidTokenError, `rejected as an invalid token, got ${String(verified)}`);
      assert.match(verified.message, reason);
      assert.equal(res.status, 401);
      assert.equal(JSON.parse(res.body).error.code, "unauthorized");
    });
  }

  test("control: well-formed claims signed with our key verify", async () => {
    // Prepare
    const claims = appClaims(config(), { sub: "g_42" });

    // Act
    const verified = await verifyAppToken(await ours(claims), config());

    // Assess
    assert.deepEqual(verified, { sub: "g_42", email: "mirai@example.com", jti: "jti-1", iat: claims.iat });
  });

  test("control: an iat within the clock tolerance and exactly the maximum lifetime verify", async () => {
    // Prepare
    const claims = appClaims(config(), { sub: `g_${randomUUID()}`, iat: now() + 20, exp: now() + 20 + config().jwtTtlSeconds });

    // Act
    const token = await ours(claims);
    const res = await target.request("/v1/me", { headers: { "x-remirai-token": token, "x-user-uid": String(claims.sub) } });

    // Assess
    assert.equal((await verifyAppToken(token, config())).sub, claims.sub);
    // Past the token check: no profile for this (never signed-in) user.
    assert.equal(res.status, 404, res.body);
  });
});

describe("the token lifetime is one setting, JWT_TTL_SECONDS, for signing and verifying", () => {
  test("sign-in hands out tokens of that lifetime, and a longer-lived token is refused", async () => {
    // Prepare
    const short = identityConfig("edge", issuer, { JWT_TTL_SECONDS: "600" });
    const app = await nodeTarget(identityApp(short));
    try {
      const dayLong = await signed(appClaims(short, { sub: "g_day", iat: now(), exp: now() + 86_400 }), "ES256", await appSigningKey());

      // Act
      const signIn = await app.request("/v1/auth/google", signInRequest(await issuer.idToken(googleClaims(randomUUID()))));
      const { token, expires_in } = JSON.parse(signIn.body);
      const refused = await app.request("/v1/me", { headers: { "x-remirai-token": dayLong, "x-user-uid": "g_day" } });

      // Assess
      assert.equal(signIn.status, 200);
      assert.equal(expires_in, 600);
      const { iat, exp } = decodeJwt(token);
      assert.equal(exp! - iat!, 600);
      assert.equal(refused.status, 401);
      assert.match(JSON.parse(refused.body).error.message, /lifetime exceeds the maximum of 600 seconds/);
    } finally {
      await app.close();
    }
  });
});

function googleClaims(sub: string): JWTPayload {
  return { iss: issuer.issuer, aud: TEST_CLIENT_ID, sub, email: "mirai@example.com", email_verified: true, iat: now(), exp: now() + 3600 };
}
