/**
 * The sweeper against real queues, one private table and queue pair per test, so its report
 * counts this test's saga and nothing another test left behind: a lost message is re-driven,
 * a backlog only postpones, and too many re-drives or the saga's deadline fail the saga with a
 * reason its owner can read.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { Persona } from "../backend/personas/model.ts";
import { sqsClient } from "../backend/ports/aws.ts";
import { stepHandler } from "../backend/workers/step-handler.ts";
import { as, ownerWithAnswers, receiveSteps, sagaStack, type SagaStack } from "./support/saga.ts";

const MAX_REDRIVES = 2;

let stack: SagaStack;
beforeEach(async () => (stack = await sagaStack({ SAGA_MAX_REDRIVES: String(MAX_REDRIVES) }, { workers: false })));
afterEach(() => stack.close());

const synthesis = () => stepHandler("synthesis", stack.domains.saga.synthesis, 5);
const illustration = () => stepHandler("image", stack.domains.saga.illustration, 5);
const persona = async (uid: string) => (await stack.domains.personas.get(uid))!;
/** Just past the current step's deadline. */
const pastStep = (p: Persona) => new Date(Date.parse(p.stepDeadlineAt!) + 1);

async function startedSaga(): Promise<{ uid: string; sagaId: string }> {
  const { uid } = await ownerWithAnswers(stack.target, 3);
  const res = await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
  assert.equal(res.status, 202);
  return { uid, sagaId: JSON.parse(res.body).saga_id };
}

async function waiting(queueUrl: string): Promise<number> {
  const { Attributes } = await sqsClient().send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages);
}

const view = async (uid: string) => JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body);

describe("sweeper", () => {
  test("a saga whose message was lost is re-driven, then finished by the workers", async () => {
    // Prepare: the step-1 message is received and never processed (its worker died).
    const { uid, sagaId } = await startedSaga();
    await receiveSteps(stack.config.synthesisQueueUrl);
    // Act
    const report = await stack.domains.saga.sweep(pastStep(await persona(uid)));
    // Assess: this saga, and only it, re-driven once with its own step message.
    assert.deepEqual(report, { redriven: 1, postponed: 0, failed: 0 });
    assert.equal((await persona(uid)).redrives, 1);
    const redriven = await receiveSteps(stack.config.synthesisQueueUrl);
    assert.deepEqual(
      redriven.Records.map((r) => JSON.parse(r.body)),
      [{ uid, sagaId }],
    );
    await synthesis()(redriven);
    await illustration()(await receiveSteps(stack.config.imageQueueUrl));
    assert.equal((await persona(uid)).status, "ready");
  });

  test("a saga still waiting behind a backlog is postponed, never re-sent or failed, and finishes when its turn comes", async () => {
    // Prepare: the saga's message waits in the queue (nobody receives it), past more step
    // deadlines than the sweeper may re-drive.
    const { uid, sagaId } = await startedSaga();
    for (let i = 0; i <= MAX_REDRIVES; i++) {
      // Act
      const later = pastStep(await persona(uid));
      const report = await stack.domains.saga.sweep(later);
      // Assess: deadline pushed forward; nothing counted, sent or failed.
      const after = await persona(uid);
      assert.deepEqual(report, { redriven: 0, postponed: 1, failed: 0 });
      assert.deepEqual([after.status, after.sagaId, after.redrives], ["synthesizing", sagaId, 0]);
      assert.ok(after.stepDeadlineAt! > later.toISOString());
      assert.equal(await waiting(stack.config.synthesisQueueUrl), 1, "no duplicate behind the original");
    }
    const step1 = await receiveSteps(stack.config.synthesisQueueUrl);
    assert.deepEqual(
      step1.Records.map((r) => JSON.parse(r.body)),
      [{ uid, sagaId }],
    );
    await synthesis()(step1);
    await illustration()(await receiveSteps(stack.config.imageQueueUrl));
    assert.equal((await persona(uid)).status, "ready");
  });

  test("a saga whose message keeps being lost is failed after SAGA_MAX_REDRIVES re-drives", async () => {
    // Prepare: every re-driven message is lost too.
    const { uid } = await startedSaga();
    await receiveSteps(stack.config.synthesisQueueUrl);
    for (let i = 1; i <= MAX_REDRIVES; i++) {
      assert.deepEqual(
        await stack.domains.saga.sweep(pastStep(await persona(uid))),
        { redriven: 1, postponed: 0, failed: 0 },
        `re-drive ${i}`,
      );
      await receiveSteps(stack.config.synthesisQueueUrl);
    }
    // Act
    const report = await stack.domains.saga.sweep(pastStep(await persona(uid)));
    // Assess: failed with a reason, not re-sent a third time.
    assert.deepEqual(report, { redriven: 0, postponed: 0, failed: 1 });
    const failed = await view(uid);
    assert.equal(failed.status, "failed");
    assert.match(failed.reason, /could not be generated/);
    assert.equal((await persona(uid)).redrives, MAX_REDRIVES);
    assert.equal(await waiting(stack.config.synthesisQueueUrl), 0);
  });

  test("a saga past its deadline is failed with a reason the owner can read", async () => {
    const { uid } = await startedSaga();
    await receiveSteps(stack.config.synthesisQueueUrl);
    const report = await stack.domains.saga.sweep(new Date(Date.parse((await persona(uid)).sagaDeadlineAt!) + 1));
    assert.deepEqual(report, { redriven: 0, postponed: 0, failed: 1 });
    const failed = await view(uid);
    assert.equal(failed.status, "failed");
    assert.match(failed.reason, /too long/);
  });
});
