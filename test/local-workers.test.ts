/**
 * The local poller's `maxInFlight` cap (what the benchmark's load-levelling run uses): however
 * many sagas wait in the queues, at most N steps of each queue are with the model at once,
 * and every saga still finishes. The fake model holds every call until the test releases it,
 * so "two at once" is made to happen, not hoped for from overlapping delays.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { localSaga, startLocalWorkers } from "../backend/local/workers.ts";
import { sqsClient } from "../backend/ports/aws.ts";
import { startFakeGemini, type Behaviour, type FakeGemini, type RecordedRequest } from "../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../fixtures/model-fixtures.ts";
import { as, ownerWithAnswers, sagaStack, type SagaStack } from "./support/saga.ts";

const SAGAS = 6;
const MAX_IN_FLIGHT = 2;

let gemini: FakeGemini;
let stack: SagaStack;
let workers: { stop(): Promise<void> };
/** Whether new calls of each model wait for `release()`. */
const holding = { text: true, image: true };
const isImage = (request: RecordedRequest) => request.model.includes("image");
const isText = (request: RecordedRequest) => !isImage(request);

before(async () => {
  gemini = await startFakeGemini({
    fallback: (request): Behaviour =>
      isImage(request)
        ? { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png", held: holding.image }
        : { kind: "json", value: PERSONA_CARD, held: holding.text },
  });
  stack = await sagaStack({ GEMINI_API_KEY: "k", GEMINI_BASE_URL: gemini.url }, { workers: false });
  workers = startLocalWorkers(localSaga(stack.domains), {
    maxInFlight: MAX_IN_FLIGHT,
    waitTimeSeconds: 1,
    retryDelaySeconds: 0,
    sweepIntervalMs: 3_600_000,
  });
});
after(async () => {
  // The model first: a call still held (a failed run) ends, so the workers can stop.
  await gemini.close();
  await workers.stop();
  await stack.close();
});

/** The most calls of one model that were open at the same moment. */
function mostAtOnce(requests: RecordedRequest[]): number {
  const edges = requests.flatMap((r) => [
    { at: r.receivedAt, step: 1 },
    { at: r.sentAt.at(-1) ?? Infinity, step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let open = 0;
  let most = 0;
  for (const edge of edges) most = Math.max(most, (open += edge.step));
  return most;
}

/** Polls an observable condition (no event tells us) until it holds, or fails. */
async function until(what: string, holds: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Messages waiting in a queue, and messages received but not yet deleted. */
async function queueState(queueUrl: string): Promise<{ waiting: number; inFlight: number }> {
  const { Attributes = {} } = await sqsClient().send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return { waiting: Number(Attributes.ApproximateNumberOfMessages), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible) };
}

const personaViews = (owners: { uid: string }[]) =>
  Promise.all(owners.map(async ({ uid }) => JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body)));

test("maxInFlight: at most N steps per queue at the model at once, and every saga finishes", async () => {
  // Prepare: six owners with three answers each, all sagas started together.
  const owners = await Promise.all(Array.from({ length: SAGAS }, () => ownerWithAnswers(stack.target, 3)));
  const started = await Promise.all(owners.map(({ uid }) => stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) })));
  assert.deepEqual(
    started.map((r) => r.status),
    Array(SAGAS).fill(202),
  );

  // Act + Assess, step 1: with every model call held, two synthesis steps are at the model
  // and the other four messages wait in their queue, untouched.
  const firstText = await gemini.arrived(MAX_IN_FLIGHT, isText);
  const held = { waiting: SAGAS - MAX_IN_FLIGHT, inFlight: MAX_IN_FLIGHT };
  await until(
    "four synthesis messages wait while two are held",
    async () => JSON.stringify(await queueState(stack.config.synthesisQueueUrl)) === JSON.stringify(held),
  );
  assert.equal(gemini.requests.filter(isText).length, MAX_IN_FLIGHT);

  // Step 2: synthesis goes on; image calls are held the same way.
  holding.text = false;
  for (const request of firstText) request.release();
  const firstImages = await gemini.arrived(MAX_IN_FLIGHT, isImage);
  await until(
    "every synthesis step is done and four image messages wait while two are held",
    async () =>
      (await personaViews(owners)).every((v) => v.status === "generating_image") &&
      JSON.stringify(await queueState(stack.config.imageQueueUrl)) === JSON.stringify(held),
  );
  assert.equal(gemini.requests.filter(isImage).length, MAX_IN_FLIGHT);

  // Step 3: everything goes on to the end.
  holding.image = false;
  for (const request of firstImages) request.release();
  await until("every persona is ready", async () => {
    const views = await personaViews(owners);
    assert.ok(
      views.every((v) => v.status !== "failed"),
      "no saga fails",
    );
    return views.every((v) => v.status === "ready");
  });

  // Assess: six calls per model, never more than two open at once, and two at once did happen.
  assert.equal(gemini.requests.filter(isText).length, SAGAS);
  assert.equal(gemini.requests.filter(isImage).length, SAGAS);
  assert.equal(mostAtOnce(gemini.requests.filter(isText)), MAX_IN_FLIGHT);
  assert.equal(mostAtOnce(gemini.requests.filter(isImage)), MAX_IN_FLIGHT);
});
