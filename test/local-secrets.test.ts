/**
 * The local stack's secrets: made once, kept private in DATA_DIR, reused on the next start
 * (so tokens survive a restart), and never overriding what the environment already sets.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { exportSecrets, generateSecrets, loadOrCreateSecrets } from "../backend/local/secrets.ts";
import { issueAppToken, verifyAppToken } from "../backend/identity/tokens.ts";

test("secrets.json is created 0600 on first start and reused on the next", async (t) => {
  // Prepare
  const dataDir = await mkdtemp(join(tmpdir(), "remirai-secrets-"));
  t.after(() => rm(dataDir, { recursive: true, force: true }));

  // Act
  const first = await loadOrCreateSecrets(join(dataDir, "nested"));
  const second = await loadOrCreateSecrets(join(dataDir, "nested"));

  // Assess
  assert.equal((await stat(join(dataDir, "nested", "secrets.json"))).mode & 0o777, 0o600);
  assert.deepEqual(second, first);
  assert.equal(Buffer.from(first.FINGERPRINT_SECRET, "base64url").length, 32);
});

test("a token issued before a restart verifies after it", async (t) => {
  // Prepare: two starts on one DATA_DIR, each exporting into a fresh environment
  const dataDir = await mkdtemp(join(tmpdir(), "remirai-secrets-"));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const firstStart: NodeJS.ProcessEnv = {};
  const secondStart: NodeJS.ProcessEnv = {};
  exportSecrets(await loadOrCreateSecrets(dataDir), firstStart);
  exportSecrets(await loadOrCreateSecrets(dataDir), secondStart);
  const settings = { jwtIssuer: "https://remirai.test", jwtAudience: "remirai-api", jwtTtlSeconds: 3600 };
  const keysOf = (env: NodeJS.ProcessEnv) => ({ JWT_PRIVATE_KEY: env.JWT_PRIVATE_KEY!, JWT_PUBLIC_KEY: env.JWT_PUBLIC_KEY! });
  const runKeys = keysOf(process.env);
  t.after(() => Object.assign(process.env, runKeys));

  // Act
  Object.assign(process.env, keysOf(firstStart));
  const { token } = await issueAppToken({ uid: "g_1", email: "a@example.com" }, settings);
  Object.assign(process.env, keysOf(secondStart));
  const claims = await verifyAppToken(token, settings);

  // Assess
  assert.equal(claims.sub, "g_1");
});

test("values already in the environment win, and the key pair is never split", () => {
  // Prepare
  const secrets = generateSecrets();
  const operator = { FINGERPRINT_SECRET: "operator-secret-operator-secret-operator", JWT_PUBLIC_KEY: "operator public key" };
  const env: NodeJS.ProcessEnv = { ...operator };

  // Act
  exportSecrets(secrets, env);

  // Assess
  assert.deepEqual(env, operator, "nothing was added or replaced");
  const empty: NodeJS.ProcessEnv = {};
  exportSecrets(secrets, empty);
  assert.deepEqual(empty, secrets);
});
