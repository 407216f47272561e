/**
 * The persona saga end to end on DynamoDB Local and fauxqs: the HTTP command and query,
 * the live status feed, both workers (fed by the local long-pollers with real SQS events)
 * and the offline providers (no GEMINI_API_KEY).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { as, friendAnswer, ownerWithAnswers, sagaStack, type SagaStack } from "./support/saga.ts";

let stack: SagaStack;
before(async () => (stack = await sagaStack()));
after(() => stack.close());

/** Follows the status feed until the server ends it; returns every event. */
async function followStatus(uid: string, lastEventId?: string): Promise<EventSourceMessage[]> {
  const headers: Record<string, string> = { "x-user-uid": uid, accept: "text/event-stream" };
  if (lastEventId) headers["last-event-id"] = lastEventId;
  const res = await fetch(`${stack.target.url}/v1/personas/me/events`, { headers });
  assert.equal(res.status, 200);
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
  return events;
}

describe("persona saga", () => {
  test("too few answers → 422 with the count needed; nothing starts", async () => {
    const { uid } = await ownerWithAnswers(stack.target, 2);
    const res = await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    assert.equal(res.status, 422);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, "not_enough_answers");
    assert.deepEqual([error.answers, error.needed], [2, 1]);
    const view = JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body);
    assert.deepEqual([view.status, view.answers, view.answers_needed, view.card], ["pending", 2, 1, null]);
  });

  test("start → 202, then the feed shows every step until ready", async () => {
    // Prepare
    const { uid } = await ownerWithAnswers(stack.target, 3);

    // Act
    const started = await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    const events = await followStatus(uid);
    const view = JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body);

    // Assess
    assert.equal(started.status, 202);
    assert.equal(started.headers.location, "/v1/personas/me");
    const sagaId = JSON.parse(started.body).saga_id;
    assert.deepEqual(events.map((e) => JSON.parse(e.data).status), ["synthesizing", "generating_image", "ready"]);
    assert.ok(events.every((e) => e.event === "status" && JSON.parse(e.data).saga_id === sagaId));
    const ids = events.map((e) => Number(e.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(view.status, "ready");
    assert.equal(view.version, 1);
    assert.equal(view.saga_id, sagaId);
    assert.ok(view.card.name.length > 0);
    assert.deepEqual(view.generated_by, { writer: "offline", illustrator: "offline-svg" });
    const portrait = await fetch(view.illustration_url);
    assert.equal(portrait.status, 200);
    assert.match(await portrait.text(), /^<svg /);
  });

  test("a reconnect with Last-Event-ID continues without repeats; after the end it is 204", async () => {
    const { uid } = await ownerWithAnswers(stack.target, 3);
    await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    const all = await followStatus(uid);
    const resumed = await followStatus(uid, all[0]!.id);
    assert.deepEqual(resumed.map((e) => e.id), all.slice(1).map((e) => e.id));
    const finished = await fetch(`${stack.target.url}/v1/personas/me/events`, { headers: { "x-user-uid": uid, "last-event-id": all.at(-1)!.id! } });
    assert.equal(finished.status, 204);
  });

  test("the persona needs a signed-in owner", async () => {
    for (const [method, path] of [["GET", "/v1/personas/me"], ["POST", "/v1/personas/me"], ["GET", "/v1/personas/me/events"]]) {
      const res = await stack.target.request(path!, { method });
      assert.equal(res.status, 401, `${method} ${path}`);
    }
  });
});

describe("while a saga runs", () => {
  test("a second start → 409 and the saga in flight is untouched", async () => {
    const idle = await sagaStack({}, { workers: false });
    try {
      const { uid } = await ownerWithAnswers(idle.target, 3);
      const first = JSON.parse((await idle.target.request("/v1/personas/me", { method: "POST", headers: as(uid) })).body);
      const second = await idle.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
      assert.equal(second.status, 409);
      assert.equal(JSON.parse(second.body).error.code, "saga_running");
      const view = JSON.parse((await idle.target.request("/v1/personas/me", { headers: as(uid) })).body);
      assert.deepEqual([view.status, view.saga_id], ["synthesizing", first.saga_id]);
    } finally {
      await idle.close();
    }
  });
});

describe("automatic start", () => {
  test("with AUTO_GENERATE=1 the third answer starts the saga", async () => {
    const auto = await sagaStack({ AUTO_GENERATE: "1" }, { workers: false });
    try {
      const { uid } = await ownerWithAnswers(auto.target, 2);
      const before = JSON.parse((await auto.target.request("/v1/personas/me", { headers: as(uid) })).body);
      assert.equal(before.status, "pending");
      const survey = JSON.parse((await auto.target.request("/v1/surveys", { method: "POST", headers: as(uid) })).body);
      const third = await auto.target.request(`/v1/surveys/${survey.survey_id}/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(friendAnswer(`${uid}-third`)),
      });
      assert.equal(third.status, 201);
      const afterView = JSON.parse((await auto.target.request("/v1/personas/me", { headers: as(uid) })).body);
      assert.equal(afterView.status, "synthesizing");
    } finally {
      await auto.close();
    }
  });
});
