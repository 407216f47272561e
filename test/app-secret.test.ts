/**
 * The app-secret loader in-process, against the local Secrets Manager endpoint (real SDK,
 * real Powertools Parameters): what it puts into the environment, what it leaves alone, and
 * that its failures name the problem without a value. The deployed entries' use of it is in
 * test/deployed-entries.test.ts.
 */
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { generateSecrets } from "../backend/local/secrets.ts";
import { AppSecretError, loadAppSecret } from "../backend/ports/secrets.ts";
import { startFakeSecretsManager, type FakeSecretsManager } from "./support/fake-secrets-manager.ts";

const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:remirai/unit/${name}`;
const SECRET = { ...generateSecrets(), GEMINI_API_KEY: "gemini-unit-key" };
const NOT_JSON = "FINGERPRINT_SECRET=unquoted-value-that-must-never-be-logged";
let secrets: FakeSecretsManager;

before(async () => {
  secrets = await startFakeSecretsManager({
    [arn("app-Aa11Bb")]: JSON.stringify(SECRET),
    [arn("plain-Cc22Dd")]: NOT_JSON,
    [arn("nogemini-Ee33Ff")]: JSON.stringify({ ...SECRET, GEMINI_API_KEY: "" }),
  });
  // This file's own process: the SDK reads the endpoint from the real environment.
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
});
after(() => secrets.close());

const errors = () => {
  const lines: Array<{ message: string; attributes: Record<string, unknown> }> = [];
  return { lines, error: (message: string, attributes: Record<string, unknown>) => void lines.push({ message, attributes }) };
};

test("without APP_SECRET_ARN (local runs) nothing is read and nothing changes", async () => {
  // Prepare
  const env: NodeJS.ProcessEnv = { FINGERPRINT_SECRET: "set-directly" };
  const asked = secrets.requests.length;

  // Act
  await loadAppSecret(env);

  // Assess
  assert.deepEqual(env, { FINGERPRINT_SECRET: "set-directly" });
  assert.equal(secrets.requests.length, asked);
});

test("puts every key of the secret into the environment", async () => {
  // Prepare
  const env: NodeJS.ProcessEnv = { APP_SECRET_ARN: arn("app-Aa11Bb") };

  // Act
  await loadAppSecret(env);

  // Assess
  assert.deepEqual(env, { APP_SECRET_ARN: arn("app-Aa11Bb"), ...SECRET });
});

test("values already in the environment win, and the key pair is never split", async () => {
  // Prepare: an operator's own fingerprint key and half of a key pair
  const env: NodeJS.ProcessEnv = {
    APP_SECRET_ARN: arn("app-Aa11Bb"),
    FINGERPRINT_SECRET: "operator-fingerprint-key-operator-key",
    JWT_PUBLIC_KEY: "operator public key",
  };

  // Act
  await loadAppSecret(env);

  // Assess
  assert.equal(env.FINGERPRINT_SECRET, "operator-fingerprint-key-operator-key");
  assert.equal(env.JWT_PUBLIC_KEY, "operator public key");
  assert.equal(env.JWT_PRIVATE_KEY, undefined, "not half of the secret's pair next to half of the operator's");
  assert.equal(env.GEMINI_API_KEY, SECRET.GEMINI_API_KEY);
});

test("an empty Gemini key is allowed: the providers stay offline", async () => {
  // Prepare
  const env: NodeJS.ProcessEnv = { APP_SECRET_ARN: arn("nogemini-Ee33Ff") };

  // Act
  await loadAppSecret(env);

  // Assess
  assert.equal(env.GEMINI_API_KEY, undefined);
  assert.equal(env.FINGERPRINT_SECRET, SECRET.FINGERPRINT_SECRET);
});

test("a secret that is not JSON fails with one log line that quotes none of it", async () => {
  // Prepare
  const log = errors();
  const env: NodeJS.ProcessEnv = { APP_SECRET_ARN: arn("plain-Cc22Dd") };

  // Act
  const failure = await loadAppSecret(env, log).then(
    () => undefined,
    (error: unknown) => error,
  );

  // Assess
  assert.ok(failure instanceof AppSecretError);
  assert.equal(failure.message, "the secret's value is not JSON");
  assert.equal(log.lines.length, 1);
  assert.ok(!JSON.stringify(log.lines).includes("unquoted-value"), "no part of the value is logged");
  assert.equal(env.FINGERPRINT_SECRET, undefined);
});

test("an unknown secret fails with the service's reason", async () => {
  // Prepare
  const log = errors();

  // Act
  const failure = await loadAppSecret({ APP_SECRET_ARN: arn("missing-Gg44Hh") }, log).then(
    () => undefined,
    (error: unknown) => error,
  );

  // Assess
  assert.ok(failure instanceof AppSecretError);
  assert.deepEqual(log.lines, [
    {
      message: "app secret not loaded: the process cannot start",
      attributes: {
        secret_arn: arn("missing-Gg44Hh"),
        error: "ResourceNotFoundException",
        reason: "Secrets Manager can't find the specified secret.",
      },
    },
  ]);
});

test("a Secrets Manager that never answers fails the start, after a bounded number of tries", async (t) => {
  // Prepare: an endpoint that accepts connections and never answers
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((listening) => silent.listen(0, "127.0.0.1", listening));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((closed) => silent.close(closed));
  });
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  t.after(() => (process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url));
  const log = errors();

  // Act
  const failure = await loadAppSecret({ APP_SECRET_ARN: arn("app-Aa11Bb") }, log).then(
    () => undefined,
    (error: unknown) => error,
  );

  // Assess
  assert.ok(failure instanceof AppSecretError);
  assert.equal(log.lines[0]?.attributes.error, "TimeoutError");
  assert.equal(sockets.length, 3, "the client's 3 attempts, then it gives up");
});
