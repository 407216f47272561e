/**
 * The saga's guarantees one delivery at a time: real SQS messages from fauxqs handed to
 * the same step handlers the Lambda workers run, with no background worker in the way.
 * The sweeper has its own file (personas-sweeper.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ChangeMessageVisibilityCommand, GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { sqsClient } from "../backend/ports/aws.ts";
import { stepHandler } from "../backend/workers/step-handler.ts";
import { sagaOn } from "../backend/personas/personas.ts";
import { offlineIllustrator } from "../backend/personas/portrait.ts";
import { offlineWriter } from "../backend/personas/writer.ts";
import { as, ownerWithAnswers, receiveSteps, sagaStack, type SagaStack } from "./support/saga.ts";

let stack: SagaStack;
before(async () => (stack = await sagaStack({}, { workers: false })));
after(() => stack.close());

const receive = (queueUrl: string) => receiveSteps(queueUrl);

const synthesis = () => stepHandler("synthesis", stack.domains.saga.synthesis, 5);
const illustration = () => stepHandler("image", stack.domains.saga.illustration, 5);

async function startedSaga(): Promise<{ uid: string; sagaId: string }> {
  const { uid } = await ownerWithAnswers(stack.target, 3);
  const res = await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
  return { uid, sagaId: JSON.parse(res.body).saga_id };
}

describe("saga steps", () => {
  test("each step moves the saga once; a redelivered message is acknowledged and changes nothing", async () => {
    // Prepare
    const { uid } = await startedSaga();
    const step1 = await receive(stack.config.synthesisQueueUrl);

    // Act: the same step-1 message delivered three times.
    assert.deepEqual(await synthesis()(step1), { batchItemFailures: [] });
    const afterStep1 = await stack.domains.personas.get(uid);
    assert.deepEqual(await synthesis()(step1), { batchItemFailures: [] });
    assert.deepEqual(await synthesis()(step1), { batchItemFailures: [] });
    const afterDuplicate = await stack.domains.personas.get(uid);
    const { Attributes } = await sqsClient().send(
      new GetQueueAttributesCommand({ QueueUrl: stack.config.imageQueueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    assert.equal(Attributes?.ApproximateNumberOfMessages, "1", "exactly one step-2 message");
    const step2 = await receive(stack.config.imageQueueUrl);
    await illustration()(step2);
    const ready = await stack.domains.personas.get(uid);
    await illustration()(step2);
    await synthesis()(step1);

    // Assess
    assert.equal(afterStep1?.status, "generating_image");
    assert.deepEqual(afterDuplicate, afterStep1);
    assert.equal(ready?.status, "ready");
    assert.deepEqual(await stack.domains.personas.get(uid), ready);
  });

  test("a worker that dies between the model call and the status write: the retry completes it", async () => {
    const { uid } = await startedSaga();
    const delivery = await receive(stack.config.synthesisQueueUrl);
    // The model answered, then the process died before the conditional status write.
    const { table, queues, media } = stack.domains.ports;
    const dying = sagaOn(
      table,
      queues,
      media,
      stack.domains.surveys,
      {
        illustrator: offlineIllustrator,
        writer: {
          name: "dying",
          write: async (...args) => {
            await offlineWriter.write(...args);
            throw new Error("worker killed");
          },
        },
      },
      stack.config,
    );
    // A batch whose every record failed is an explicit error: SQS keeps the message.
    await assert.rejects(stepHandler("synthesis", dying.synthesis, 5)(delivery), { name: "FullBatchFailureError" });
    assert.equal((await stack.domains.personas.get(uid))?.status, "synthesizing", "nothing was written");
    // Visible again at once (as the local poller does for failures), not after 180 s.
    await sqsClient().send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: stack.config.synthesisQueueUrl,
        ReceiptHandle: delivery.Records[0]!.receiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const retry = await receive(stack.config.synthesisQueueUrl); // redelivered by SQS
    assert.equal(retry.Records[0]!.attributes.ApproximateReceiveCount, "2");
    await synthesis()(retry);
    await illustration()(await receive(stack.config.imageQueueUrl));
    assert.equal((await stack.domains.personas.get(uid))?.status, "ready");
  });

  test("a regeneration keeps the old card readable until the new version is ready", async () => {
    const { uid } = await startedSaga();
    await synthesis()(await receive(stack.config.synthesisQueueUrl));
    await illustration()(await receive(stack.config.imageQueueUrl));
    const shared = await stack.target.request("/v1/personas/me/visibility", { method: "PUT", headers: as(uid), body: '{"public":true}' });
    assert.equal(shared.status, 200);
    const v1 = JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body);
    const restart = await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    assert.equal(restart.status, 202);
    assert.equal((await stack.domains.personas.get(uid))?.public, true, "starting a saga keeps the owner's visibility");
    const during = JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body);
    assert.equal(during.status, "synthesizing");
    assert.deepEqual([during.card, during.illustration_url, during.version], [v1.card, v1.illustration_url, 1]);

    await synthesis()(await receive(stack.config.synthesisQueueUrl));
    await illustration()(await receive(stack.config.imageQueueUrl));
    const v2 = JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body);
    assert.deepEqual([v2.status, v2.version, v2.card.version], ["ready", 2, 2]);
    assert.notEqual(v2.saga_id, v1.saga_id);
  });

  test("a message of an older saga is acknowledged and ignored", async () => {
    const { uid, sagaId } = await startedSaga();
    await receive(stack.config.synthesisQueueUrl);
    const stale = { Records: [{ ...(await staleRecord(uid, `not-${sagaId}`)) }] };
    assert.deepEqual(await synthesis()(stale), { batchItemFailures: [] });
    assert.equal((await stack.domains.personas.get(uid))?.status, "synthesizing");
  });

  test("a malformed message fails alone: its neighbour in the batch still succeeds", async () => {
    const { uid, sagaId } = await startedSaga();
    const good = await receive(stack.config.synthesisQueueUrl);
    const bad = { ...good.Records[0]!, messageId: "bad-1", body: "{not json" };
    const result = await synthesis()({ Records: [bad, good.Records[0]!] });
    assert.deepEqual(result, { batchItemFailures: [{ itemIdentifier: "bad-1" }] });
    const persona = await stack.domains.personas.get(uid);
    assert.deepEqual([persona?.status, persona?.sagaId], ["generating_image", sagaId]);
  });
});

async function staleRecord(uid: string, sagaId: string) {
  await sqsClient().send(
    new SendMessageCommand({ QueueUrl: stack.config.synthesisQueueUrl, MessageBody: JSON.stringify({ uid, sagaId }) }),
  );
  return (await receive(stack.config.synthesisQueueUrl)).Records[0]!;
}
