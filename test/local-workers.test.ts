/**
 * The local poller's `maxInFlight` cap (what the benchmark's load-levelling run uses): however
 * many sagas wait in the queues, at most N steps of each queue are with the slow model at
 * once, and every saga still finishes.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startLocalWorkers } from "../backend/local/workers.ts";
import { PERSONA_CARD, PORTRAIT_PNG, startFakeGemini, type Behaviour, type FakeGemini, type RecordedRequest } from "./support/fake-gemini.ts";
import { as, ownerWithAnswers, sagaStack, type SagaStack } from "./support/saga.ts";

const MODEL_MS = 150;

let gemini: FakeGemini;
let stack: SagaStack;
let workers: { stop(): Promise<void> };

before(async () => {
  gemini = await startFakeGemini({
    fallback: (request): Behaviour =>
      request.model.includes("image")
        ? { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png", delayMs: MODEL_MS }
        : { kind: "json", value: PERSONA_CARD, delayMs: MODEL_MS },
  });
  stack = await sagaStack({ GEMINI_API_KEY: "k", GEMINI_BASE_URL: gemini.url }, { workers: false });
  workers = startLocalWorkers(stack.runtime, { maxInFlight: 2, waitTimeSeconds: 1, retryDelaySeconds: 0, sweepIntervalMs: 3_600_000 });
});
after(async () => {
  await workers.stop();
  await stack.close();
  await gemini.close();
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

test("maxInFlight: at most N steps per queue at the model at once, and every saga finishes", async () => {
  // Prepare: six owners with three answers each, all sagas started together.
  const owners = await Promise.all(Array.from({ length: 6 }, () => ownerWithAnswers(stack.target, 3)));
  const started = await Promise.all(owners.map(({ uid }) => stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) })));
  assert.deepEqual(started.map((r) => r.status), Array(6).fill(202));

  // Act: wait until every persona is ready.
  const deadline = AbortSignal.timeout(30_000);
  for (;;) {
    const views = await Promise.all(owners.map(async ({ uid }) => JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body)));
    assert.ok(views.every((v) => v.status !== "failed"), "no saga fails");
    if (views.every((v) => v.status === "ready")) break;
    assert.ok(!deadline.aborted, "every saga is ready within 30 s");
    await new Promise((r) => setTimeout(r, 50));
  }

  // Assess: six calls per model, never more than two open at once (and two at once did happen).
  const text = gemini.requests.filter((r) => !r.model.includes("image"));
  const images = gemini.requests.filter((r) => r.model.includes("image"));
  assert.equal(text.length, 6);
  assert.equal(images.length, 6);
  assert.equal(mostAtOnce(text), 2);
  assert.equal(mostAtOnce(images), 2);
});
