/**
 * The worker bundles as AWS runs them (test/support/deployed-stack.ts): each imported in a
 * fresh process with exactly its function's template environment, its secrets only in the
 * Secrets Manager secret, and its handler called once. The saga through both step workers
 * is in test/deployed-api.test.ts.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  SECRET_ARN,
  UNKNOWN_ARN,
  WORKERS,
  secretFailureLine,
  secretValues,
  startDeployedStack,
  type DeployedStack,
} from "./support/deployed-stack.ts";
import { sqsRecord } from "./support/lambda-events.ts";

let deployed: DeployedStack;
before(async () => (deployed = await startDeployedStack()));
after(() => deployed?.close());

/**
 * A scheduled event for the sweeper; for the others a message about nothing that exists
 * (nothing to do): a step of an unknown saga, a deletion job nobody recorded.
 */
const eventFor = (bundle: string) => {
  if (bundle === "sweeper") return { "detail-type": "Scheduled Event", source: "aws.events", detail: {} };
  const nobody = `nobody-${randomUUID()}`;
  return {
    Records: [sqsRecord(bundle === "lifecycle" ? { kind: "account", id: nobody, uid: nobody } : { uid: nobody, sagaId: randomUUID() })],
  };
};

describe("each worker bundle with its function's template environment", () => {
  for (const [functionId, bundle] of WORKERS) {
    test(`${bundle}: its cold start reads the app secret and chooses Gemini; its handler runs`, async () => {
      // Prepare
      const asked = deployed.asksFor(SECRET_ARN);

      // Act
      const invocation = await deployed.invokeWorker(functionId, bundle, eventFor(bundle));

      // Assess
      assert.equal(invocation.code, 0, invocation.lines.join("\n"));
      assert.deepEqual(
        invocation.result,
        bundle === "sweeper" ? { redriven: 0, postponed: 0, failed: 0, deletionsResent: 0 } : { batchItemFailures: [] },
      );
      assert.equal(deployed.asksFor(SECRET_ARN), asked + 1, "one GetSecretValue per cold start");
      assert.ok(
        invocation.lines.some((l) => l.includes('"message":"AI providers: Gemini"')),
        invocation.lines.join("\n"),
      );
    });

    test(`${bundle}: a secret that does not exist fails its cold start (an init error), with one clear line`, async () => {
      // Act
      const invocation = await deployed.invokeWorker(functionId, bundle, eventFor(bundle), { AppSecretArn: UNKNOWN_ARN });

      // Assess
      assert.notEqual(invocation.code, 0);
      assert.equal(invocation.result, undefined, "the handler was never called");
      assert.equal(secretFailureLine(invocation.lines)?.error, "ResourceNotFoundException");
    });
  }
});

test("no worker printed a secret value", () => {
  assert.ok(deployed.printed.length > 0);
  for (const value of secretValues(deployed.secret))
    assert.ok(!deployed.printed.some((l) => l.includes(value)), "a secret value was printed");
});
