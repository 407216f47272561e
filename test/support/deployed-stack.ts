/**
 * The deployed functions as AWS runs them, locally: the bundles built by scripts/build.ts,
 * each function's environment taken from infrastructure/template.yaml, and the secrets
 * nowhere but in a Secrets Manager secret served by test/support/fake-secrets-manager.ts.
 * The API bundle starts through its run.sh (what the Lambda Web Adapter executes); a worker
 * bundle is imported and its handler called in a fresh process (one cold start each).
 *
 * What is added to a function's template environment, and nothing else:
 * - what Lambda itself provides: AWS_REGION and (dummy) credentials; PATH for run.sh;
 * - the local endpoints the SDK reads (AWS_ENDPOINT_URL_*), Secrets Manager's among them;
 * - stand-ins for Google's endpoints: GEMINI_BASE_URL (test/support/fake-gemini.ts) and
 *   GOOGLE_ISSUERS/GOOGLE_JWKS_URL (test/support/google-issuer.ts);
 * - PORT for the API: a free port instead of the template's 8080, which another process on
 *   a test machine may hold (under the adapter nothing else listens).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { provision } from "../../backend/local/provision.ts";
import { generateSecrets } from "../../backend/local/secrets.ts";
import { APP_SECRET_KEYS } from "../../backend/ports/app-secret.ts";
import { BUNDLES, build } from "../../scripts/build.ts";
import { invokeHandler, killEntryProcesses, startEntryProcess, type EntryProcess, type Invocation } from "./entry-process.ts";
import { startFakeGemini, type FakeGemini } from "../../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../../fixtures/model-fixtures.ts";
import { startFakeSecretsManager, type FakeSecretsManager } from "./fake-secrets-manager.ts";
import { functionEnvironment, type TestStack } from "./function-env.ts";
import { TEST_CLIENT_ID, startGoogleIssuer, type GoogleIssuer } from "./google-issuer.ts";
import { parseTemplate } from "./sam-template.ts";
import { freePort, sharedStack } from "./stack.ts";

const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:remirai/test/${name}`;
export const SECRET_ARN = arn("app-Ab12Cd");
/** A secret the endpoint does not hold. */
export const UNKNOWN_ARN = arn("gone-Zz99Yy");
/** A secret without FINGERPRINT_SECRET. */
export const INCOMPLETE_ARN = arn("incomplete-Qq11Rr");
export const WORKERS = [
  ["SynthesisFunction", "synthesis"],
  ["ImageFunction", "image"],
  ["SweeperFunction", "sweeper"],
  ["LifecycleFunction", "lifecycle"],
] as const;
/** What the fake Gemini writes into a streamed chat reply. */
export const CHAT_REPLY = "Hi from Gemini.";

export interface DeployedStack {
  /** The secret's values, fresh for each stack. */
  secret: ReturnType<typeof generateSecrets> & { GEMINI_API_KEY: string };
  secrets: FakeSecretsManager;
  gemini: FakeGemini;
  google: GoogleIssuer;
  tableName: string;
  queues: { synthesis: string; image: string };
  /** Every line every entry process of this stack printed (checked for secret values). */
  printed: string[];
  /** GetSecretValue calls for `secretId` so far. */
  asksFor(secretId: string): number;
  /** The function's template environment plus the additions above. */
  envOf(functionId: string, parameters?: Record<string, string>): Record<string, string>;
  /** dist/api through run.sh, with ApiFunction's environment. */
  startApi(parameters?: Record<string, string>): Promise<EntryProcess>;
  /** One cold start and one invocation of a worker bundle with its function's environment. */
  invokeWorker(functionId: string, bundle: string, event: unknown, parameters?: Record<string, string>): Promise<Invocation>;
  close(): Promise<void>;
}

export async function startDeployedStack(): Promise<DeployedStack> {
  const template = parseTemplate("infrastructure/template.yaml");
  const outDir = await mkdtemp(join(tmpdir(), "remirai-deployed-"));
  const name = `deployed-${randomUUID().slice(0, 8)}`;
  const { mediaBucket } = sharedStack();
  // A table and queues of its own: no other file's worker takes these messages, and no
  // sweep run here touches another file's sagas.
  const [, provisioned] = await Promise.all([
    build({ outDir, bundles: BUNDLES.filter((b) => b.name !== "edge-auth") }),
    provision({ tableName: `remirai-${name}`, synthesisQueue: `${name}-synthesis`, imageQueue: `${name}-image`, mediaBucket }),
  ]);
  const secret = { ...generateSecrets(), GEMINI_API_KEY: `gemini-${randomUUID()}` };
  const { FINGERPRINT_SECRET: _left, ...incomplete } = secret;
  const secrets = await startFakeSecretsManager({ [SECRET_ARN]: JSON.stringify(secret), [INCOMPLETE_ARN]: JSON.stringify(incomplete) });
  const gemini = await startFakeGemini({
    apiKey: secret.GEMINI_API_KEY,
    fallback: (r) =>
      r.model.includes("image")
        ? { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png" }
        : r.method === "streamGenerateContent"
          ? { kind: "text", chunks: ["Hi", " from", " Gemini."] }
          : { kind: "json", value: PERSONA_CARD },
  });
  const google = await startGoogleIssuer();
  const stack: TestStack = {
    parameters: {
      AppSecretArn: SECRET_ARN,
      GoogleClientId: TEST_CLIENT_ID,
      EdgeFunctionVersionArn: "arn:aws:lambda:us-east-1:123456789012:function:remirai-test-edge:1",
      PublicBaseUrl: "https://d111111abcdef8.cloudfront.net",
    },
    resources: {
      Table: `remirai-${name}`,
      SynthesisQueue: provisioned.synthesisQueueUrl,
      ImageQueue: provisioned.imageQueueUrl,
      SynthesisDeadLetterQueue: provisioned.synthesisDlqUrl,
      ImageDeadLetterQueue: provisioned.imageDlqUrl,
      LifecycleQueue: provisioned.lifecycleQueueUrl,
      MediaBucket: mediaBucket,
    },
  };
  const printed: string[] = [];

  const envOf = (functionId: string, parameters: Record<string, string> = {}) => {
    const fromTemplate = functionEnvironment(template, functionId, { ...stack, parameters: { ...stack.parameters, ...parameters } });
    assert.deepEqual(
      APP_SECRET_KEYS.filter((k) => k in fromTemplate),
      [],
      "no secret in the template",
    );
    const added = {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
      AWS_ENDPOINT_URL_SQS: process.env.AWS_ENDPOINT_URL_SQS!,
      AWS_ENDPOINT_URL_S3: process.env.AWS_ENDPOINT_URL_S3!,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      GEMINI_BASE_URL: gemini.url,
      GOOGLE_ISSUERS: google.issuer,
      GOOGLE_JWKS_URL: google.jwksUrl,
    };
    assert.deepEqual(
      Object.keys(added).filter((k) => k in fromTemplate),
      [],
      "the test adds, it never overrides",
    );
    return { ...fromTemplate, ...added };
  };

  return {
    secret,
    secrets,
    gemini,
    google,
    tableName: stack.resources.Table!,
    queues: { synthesis: provisioned.synthesisQueueUrl, image: provisioned.imageQueueUrl },
    printed,
    asksFor: (secretId) => secrets.requests.filter((r) => r.secretId === secretId).length,
    envOf,
    async startApi(parameters = {}) {
      const env = {
        ...envOf("ApiFunction", parameters),
        PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
        PORT: String(await freePort()),
      };
      const api = startEntryProcess("sh", [join(outDir, "api", "run.sh")], { env, cwd: tmpdir() });
      void api.exited.then(() => printed.push(...api.lines));
      return api;
    },
    async invokeWorker(functionId, bundle, event, parameters = {}) {
      const invocation = await invokeHandler(join(outDir, bundle, "index.mjs"), event, {
        env: envOf(functionId, parameters),
        cwd: tmpdir(),
      });
      printed.push(...invocation.lines);
      return invocation;
    },
    async close() {
      killEntryProcesses();
      await Promise.all([secrets.close(), gemini.close(), google.close(), rm(outDir, { recursive: true, force: true })]);
    },
  };
}

/** The secret's values as they would appear in a log line (each PEM line that carries key material). */
export function secretValues(secret: DeployedStack["secret"]): string[] {
  return [
    secret.GEMINI_API_KEY,
    secret.FINGERPRINT_SECRET,
    ...secret.JWT_PRIVATE_KEY.split("\n").filter((line) => line.length > 20 && !line.startsWith("-----")),
  ];
}

/** The structured line a failed secret load logs, if any. */
export function secretFailureLine(lines: string[]): Record<string, string> | undefined {
  return lines
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .find((l) => String(l.message).startsWith("app secret not loaded"));
}
