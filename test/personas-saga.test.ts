/**
 * The persona saga end to end on DynamoDB Local and fauxqs: the HTTP command and query,
 * the live status feed, both workers (fed by the local long-pollers with real SQS events)
 * and the offline providers (no GEMINI_API_KEY).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { keys } from "../backend/data/keys.ts";
import { documentClient } from "../backend/data/documents.ts";
import { as, friendAnswer, ownerWithAnswers, ownPortrait, sagaStack, type SagaStack } from "./support/saga.ts";

let stack: SagaStack;
before(async () => (stack = await sagaStack()));
after(() => stack.close());

/** Reads the status feed until the server ends it: every event, the last `retry:` hint, the text. */
async function readFeed(url: string, uid: string, lastEventId?: string) {
  const headers: Record<string, string> = { "x-user-uid": uid, accept: "text/event-stream" };
  if (lastEventId) headers["last-event-id"] = lastEventId;
  const res = await fetch(`${url}/v1/personas/me/events`, { headers });
  assert.equal(res.status, 200);
  const events: EventSourceMessage[] = [];
  let retry: number | undefined;
  const parser = createParser({ onEvent: (e) => events.push(e), onRetry: (ms) => (retry = ms) });
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of res.body!) {
    const part = decoder.decode(chunk, { stream: true });
    text += part;
    parser.feed(part);
  }
  return { events, retry, text };
}

/** Follows the status feed until the server ends it; returns every event. */
async function followStatus(uid: string, lastEventId?: string): Promise<EventSourceMessage[]> {
  return (await readFeed(stack.target.url!, uid, lastEventId)).events;
}

describe("persona saga", () => {
  test("too few answers → 422 with the count needed; nothing starts", async () => {
    const { uid } = await ownerWithAnswers(stack.target, 2);
    const res = await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    assert.equal(res.status, 422);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, "not_enough_answers");
    assert.deepEqual(error.details, { answers: 2, needed: 1 });
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
    assert.equal(started.headers.location, `${stack.config.publicBaseUrl}/api/v1/personas/me`);
    const sagaId = JSON.parse(started.body).saga_id;
    assert.deepEqual(
      events.map((e) => JSON.parse(e.data).status),
      ["synthesizing", "generating_image", "ready"],
    );
    assert.ok(events.every((e) => e.event === "status" && JSON.parse(e.data).saga_id === sagaId));
    const ids = events.map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    assert.equal(view.status, "ready");
    assert.equal(view.version, 1);
    assert.equal(view.saga_id, sagaId);
    assert.ok(view.card.name.length > 0);
    assert.deepEqual(view.generated_by, { writer: "offline", illustrator: "offline-svg" });
    const portrait = await ownPortrait(stack.target, uid, view);
    assert.equal(portrait.status, 200);
    assert.match(await portrait.text(), /^<svg /);
  });

  test("a reconnect with Last-Event-ID continues without repeats; after the end it is 204", async () => {
    const { uid } = await ownerWithAnswers(stack.target, 3);
    await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    const all = await followStatus(uid);
    const resumed = await followStatus(uid, all[0]!.id);
    assert.deepEqual(
      resumed.map((e) => e.id),
      all.slice(1).map((e) => e.id),
    );
    const finished = await fetch(`${stack.target.url}/v1/personas/me/events`, {
      headers: { "x-user-uid": uid, "last-event-id": all.at(-1)!.id!, accept: "text/event-stream" },
    });
    assert.equal(finished.status, 204);
    const fromTheFuture = await fetch(`${stack.target.url}/v1/personas/me/events`, {
      headers: { "x-user-uid": uid, "last-event-id": "999999", accept: "text/event-stream" },
    });
    assert.equal(fromTheFuture.status, 204);
  });

  test("without Accept: text/event-stream the feed is JSON of what happened so far, at once; ?after= resumes", async () => {
    // Prepare
    const { uid } = await ownerWithAnswers(stack.target, 3);
    const none = await stack.target.request("/v1/personas/me/events", { headers: as(uid) });
    await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    const live = await followStatus(uid);

    // Act
    const all = await stack.target.request("/v1/personas/me/events", { headers: { ...as(uid), accept: "application/json" } });
    const rest = await stack.target.request(`/v1/personas/me/events?after=${live[0]!.id}`, { headers: { ...as(uid), accept: "*/*" } });
    const bad = await stack.target.request("/v1/personas/me/events?after=soon", { headers: as(uid) });

    // Assess
    assert.deepEqual(JSON.parse(none.body), { status: "pending", events: [] });
    assert.equal(all.status, 200);
    assert.match(String(all.headers["content-type"]), /^application\/json/);
    const feed = JSON.parse(all.body);
    assert.equal(feed.status, "ready");
    assert.deepEqual(
      feed.events.map((e: { event_id: number; status: string }) => [String(e.event_id), e.status]),
      live.map((e) => [e.id, JSON.parse(e.data).status]),
    );
    assert.deepEqual(
      JSON.parse(rest.body).events.map((e: { event_id: number }) => String(e.event_id)),
      live.slice(1).map((e) => e.id),
    );
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body).error.code, "invalid_query");
    assert.deepEqual(
      JSON.parse(bad.body).error.fields.map((f: { path: string }) => f.path),
      ["after"],
    );
  });

  test("with no persona the feed says pending once and ends, asking a listening client to wait", async () => {
    // Prepare
    const { uid } = await ownerWithAnswers(stack.target, 2);
    // Act
    const feed = await readFeed(stack.target.url!, uid);
    // Assess
    assert.deepEqual(
      feed.events.map((e) => [e.event, e.id, JSON.parse(e.data).status]),
      [["status", undefined, "pending"]],
    );
    assert.equal(feed.retry, 30_000);
  });

  test("a settled persona's feed replays its last saga and ends, without waiting", async () => {
    // Prepare
    const { uid } = await ownerWithAnswers(stack.target, 3);
    await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    const live = await followStatus(uid);
    // Act: a new page, no Last-Event-ID
    const replay = await followStatus(uid);
    // Assess
    assert.equal(JSON.parse(live.at(-1)!.data).status, "ready");
    assert.deepEqual(
      replay.map((e) => [e.id, e.data]),
      live.map((e) => [e.id, e.data]),
    );
  });

  test("once a settled saga's events have expired, the feed says where it stands and ends", async () => {
    // Prepare: a ready persona whose status events the table's TTL has removed
    const { uid } = await ownerWithAnswers(stack.target, 3);
    await stack.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
    const live = await followStatus(uid);
    for (const e of live)
      await documentClient().send(new DeleteCommand({ TableName: stack.config.tableName, Key: keys.personaEvent(uid, Number(e.id)) }));
    // Act
    const feed = await followStatus(uid);
    // Assess
    assert.deepEqual(
      feed.map((e) => [e.id, JSON.parse(e.data).status]),
      [[live.at(-1)!.id, "ready"]],
    );
  });

  test("the persona needs a signed-in owner", async () => {
    for (const [method, path] of [
      ["GET", "/v1/personas/me"],
      ["POST", "/v1/personas/me"],
      ["GET", "/v1/personas/me/events"],
    ]) {
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

describe("a status feed at its maximum life", () => {
  test("ends with a retry hint; the reconnect resumes after Last-Event-ID without repeats", async () => {
    // Prepare: no workers, so the saga stays in flight; streams live 200 ms
    const brief = await sagaStack({ SSE_MAX_LIFE_MS: "200" }, { workers: false });
    try {
      const { uid } = await ownerWithAnswers(brief.target, 3);
      await brief.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
      const { personaEventsPollMs, personaEventsMaxPollMs } = brief.config;

      // Act
      const first = await readFeed(brief.target.url!, uid);
      const resumed = await readFeed(brief.target.url!, uid, first.events.at(-1)!.id);

      // Assess: the hint is the interval the feed had reached, never below the poll or above its cap
      assert.deepEqual(
        first.events.map((e) => JSON.parse(e.data).status),
        ["synthesizing"],
      );
      for (const feed of [first, resumed]) {
        assert.ok(feed.retry! >= personaEventsPollMs && feed.retry! <= personaEventsMaxPollMs, `retry: ${feed.retry}`);
      }
      assert.match(first.text, /retry: \d+\n\n: the stream reached its maximum life\n\n$/);
      assert.deepEqual(resumed.events, []);
    } finally {
      await brief.close();
    }
  });
});

describe("a status feed while a step runs long", () => {
  test("looks for changes half as often after each empty look, down to its cap, and says so in retry:", async () => {
    // Prepare: no workers, so the first step never ends; poll 20 ms, cap 160 ms, streams live 1.5 s
    const slow = await sagaStack(
      { SSE_MAX_LIFE_MS: "1500", PERSONA_EVENTS_POLL_MS: "20", PERSONA_EVENTS_MAX_POLL_MS: "160" },
      { workers: false },
    );
    try {
      const { uid } = await ownerWithAnswers(slow.target, 3);
      await slow.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
      const { personas } = slow.domains;
      const lookUp = personas.statusEventsAfter;
      let looks = 0;
      personas.statusEventsAfter = (...args) => {
        looks += 1;
        return lookUp(...args);
      };

      // Act
      const feed = await readFeed(slow.target.url!, uid);

      // Assess: at a steady 20 ms the feed would have looked about 75 times in 1.5 s; backing
      // off (20, 40, 80, then every 160 ms) it looks at most 4 + 1500/160 times
      assert.deepEqual(
        feed.events.map((e) => JSON.parse(e.data).status),
        ["synthesizing"],
      );
      assert.ok(looks <= 4 + Math.ceil(1500 / 160), `looked ${looks} times`);
      assert.equal(feed.retry, 160);
    } finally {
      await slow.close();
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
