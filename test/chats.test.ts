/**
 * Chats over HTTP against DynamoDB Local with the offline provider: opening, listing,
 * sending with a streamed reply, history pagination, ownership and limits.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { as, ownerWithReadyPersona, sagaStack, sseEvents, type SagaStack } from "./support/saga.ts";

let stack: SagaStack;
let owner: { uid: string; personaId: string };

before(async () => {
  stack = await sagaStack({ CHAT_MESSAGES_PER_MINUTE: "1000" });
  owner = await ownerWithReadyPersona(stack.target);
});
after(() => stack.close());

const DAY_MS = 86_400_000;
const url = (path: string) => `${stack.target.url}${path}`;

async function openChat(uid: string, body: unknown = {}) {
  return fetch(url("/v1/chats"), { method: "POST", headers: as(uid), body: JSON.stringify(body) });
}

async function send(uid: string, chatId: string, text: string) {
  return fetch(url(`/v1/chats/${chatId}/messages`), {
    method: "POST",
    headers: { ...as(uid), accept: "text/event-stream" },
    body: JSON.stringify({ text }),
  });
}

describe("chats", () => {
  test("a sent message streams message, tokens, stored, done; both messages are in the history", async () => {
    // Prepare
    const chat = (await (await openChat(owner.uid)).json()) as { id: string };

    // Act
    const res = await send(owner.uid, chat.id, "What do you love doing?");
    const events = await sseEvents(res);
    const history = (await (await fetch(url(`/v1/chats/${chat.id}/messages`), { headers: as(owner.uid) })).json()) as {
      messages: { id: string; role: string; text: string; status: string }[];
    };

    // Assess
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const kinds = events.map((e) => e.event);
    assert.equal(kinds[0], "message");
    assert.deepEqual(kinds.slice(-2), ["stored", "done"]);
    assert.ok(kinds.slice(1, -2).length > 0 && kinds.slice(1, -2).every((k) => k === "token"));
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      events.map((_, i) => i + 1),
    );
    const { user_message_id, reply_id } = events[0]!.data;
    const text = events
      .filter((e) => e.event === "token")
      .map((e) => e.data.text)
      .join("");
    assert.deepEqual(events.at(-2)!.data, { reply_id, status: "complete" });
    assert.deepEqual(
      history.messages.map((m) => [m.id, m.role, m.status]),
      [
        [user_message_id, "user", "complete"],
        [reply_id, "model", "complete"],
      ],
    );
    assert.equal(history.messages[1]!.text, text);
  });

  test("chats are listed newest first, with a cursor", async () => {
    const { uid } = await ownerWithReadyPersona(stack.target);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await (await openChat(uid)).json()) as { id: string }).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await fetch(url(`/v1/chats?limit=2${cursor ? `&cursor=${cursor}` : ""}`), { headers: as(uid) })).json()) as {
        chats: { id: string }[];
        next_cursor: string | null;
      };
      seen.push(...page.chats.map((c) => c.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
  });

  test("history pages return every message exactly once, in order, both directions", async () => {
    const chat = (await (await openChat(owner.uid)).json()) as { id: string };
    for (let i = 0; i < 6; i++) await sseEvents(await send(owner.uid, chat.id, `message number ${i}`));
    const all = (await (await fetch(url(`/v1/chats/${chat.id}/messages?limit=100`), { headers: as(owner.uid) })).json()) as {
      messages: { id: string }[];
    };
    assert.equal(all.messages.length, 12);

    const backwards: string[] = [];
    let page = (await (await fetch(url(`/v1/chats/${chat.id}/messages?limit=5`), { headers: as(owner.uid) })).json()) as {
      messages: { id: string }[];
      before: string | null;
      after: string | null;
    };
    backwards.unshift(...page.messages.map((m) => m.id));
    while (page.before) {
      page = (await (
        await fetch(url(`/v1/chats/${chat.id}/messages?limit=5&before=${page.before}`), { headers: as(owner.uid) })
      ).json()) as typeof page;
      backwards.unshift(...page.messages.map((m) => m.id));
    }
    assert.deepEqual(
      backwards,
      all.messages.map((m) => m.id),
    );

    const forwards: string[] = [];
    let cursor: string | null = all.messages[0]!.id;
    forwards.push(cursor);
    while (cursor) {
      const next = (await (
        await fetch(url(`/v1/chats/${chat.id}/messages?limit=4&after=${cursor}`), { headers: as(owner.uid) })
      ).json()) as typeof page;
      forwards.push(...next.messages.map((m) => m.id));
      cursor = next.after;
    }
    assert.deepEqual(
      forwards,
      all.messages.map((m) => m.id),
    );
  });

  test("a chat is visible only to its creator; a private persona that is not yours is 404", async () => {
    const stranger = await ownerWithReadyPersona(stack.target);
    const chat = (await (await openChat(owner.uid)).json()) as { id: string };
    assert.equal((await fetch(url(`/v1/chats/${chat.id}/messages`), { headers: as(stranger.uid) })).status, 404);
    assert.equal((await send(stranger.uid, chat.id, "hello?")).status, 404);
    assert.equal((await openChat(stranger.uid, { persona_id: owner.personaId })).status, 404);
    assert.equal((await openChat(stranger.uid, { persona_id: "no-such-persona" })).status, 404);
  });

  test("stop: a finished reply is 409; a user message or an id nobody issued is no such reply (404)", async () => {
    // Prepare
    const chat = (await (await openChat(owner.uid)).json()) as { id: string };
    const { user_message_id, reply_id } = (await sseEvents(await send(owner.uid, chat.id, "Hello there")))[0]!.data;
    const stop = (id: string) => fetch(url(`/v1/chats/${chat.id}/messages/${id}/stop`), { method: "POST", headers: as(owner.uid) });

    // Act
    const [finished, userMessage, unknown] = await Promise.all([
      stop(reply_id),
      stop(user_message_id),
      stop(`${reply_id.slice(0, 13)}AAAAAAAA`),
    ]);

    // Assess
    assert.equal(finished.status, 409);
    assert.equal(((await finished.json()) as { error: { code: string } }).error.code, "reply_not_generating");
    for (const res of [userMessage, unknown]) {
      assert.equal(res.status, 404);
      assert.deepEqual(((await res.json()) as { error: { code: string; message: string } }).error.message, "No such reply");
    }
  });

  test("the one-shot endpoint answers JSON, or SSE when asked", async () => {
    const json = await fetch(url("/v1/personas/me/chat"), {
      method: "POST",
      headers: as(owner.uid),
      body: JSON.stringify({ text: "Hi!" }),
    });
    assert.equal(json.status, 200);
    const body = (await json.json()) as { response: string; message_id: string };
    assert.ok(body.response.length > 0);
    const streamed = await fetch(url("/v1/personas/me/chat"), {
      method: "POST",
      headers: { ...as(owner.uid), accept: "text/event-stream" },
      body: JSON.stringify({ text: "Again" }),
    });
    const events = await sseEvents(streamed);
    assert.deepEqual([events[0]!.event, events.at(-1)!.event], ["message", "done"]);
  });
});

describe("chat limits", () => {
  test("empty and over-long messages are 400 and store nothing", async () => {
    const chat = (await (await openChat(owner.uid)).json()) as { id: string };
    for (const [text, code] of [
      ["   ", "empty_message"],
      ["x".repeat(4001), "message_too_long"],
    ] as const) {
      const res = await send(owner.uid, chat.id, text);
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, code);
    }
    const history = (await (await fetch(url(`/v1/chats/${chat.id}/messages`), { headers: as(owner.uid) })).json()) as {
      messages: unknown[];
    };
    assert.equal(history.messages.length, 0);
  });

  test("messages per minute and the daily token budget answer 429 with Retry-After (for the budget: until UTC midnight)", async () => {
    const limited = await sagaStack({ CHAT_MESSAGES_PER_MINUTE: "2", CHAT_DAILY_TOKEN_BUDGET: "1000000" });
    try {
      const me = await ownerWithReadyPersona(limited.target);
      const chat = (await (await fetch(`${limited.target.url}/v1/chats`, { method: "POST", headers: as(me.uid), body: "{}" })).json()) as {
        id: string;
      };
      const say = (text: string) =>
        fetch(`${limited.target.url}/v1/chats/${chat.id}/messages`, {
          method: "POST",
          headers: as(me.uid),
          body: JSON.stringify({ text }),
        });
      for (const text of ["one", "two"]) await sseEvents(await say(text));
      const third = await say("three");
      assert.equal(third.status, 429);
      assert.equal(((await third.json()) as { error: { code: string } }).error.code, "rate_limited_chat_user");
      assert.ok(Number(third.headers.get("retry-after")) >= 1);
    } finally {
      await limited.close();
    }
    const budget = await sagaStack({ CHAT_DAILY_TOKEN_BUDGET: "1" });
    try {
      const me = await ownerWithReadyPersona(budget.target);
      const chat = (await (await fetch(`${budget.target.url}/v1/chats`, { method: "POST", headers: as(me.uid), body: "{}" })).json()) as {
        id: string;
      };
      const say = () =>
        fetch(`${budget.target.url}/v1/chats/${chat.id}/messages`, {
          method: "POST",
          headers: as(me.uid),
          body: JSON.stringify({ text: "hello" }),
        });
      await sseEvents(await say());
      const sentAt = Date.now();
      const next = await say();
      const answeredAt = Date.now();
      assert.equal(next.status, 429);
      assert.equal(((await next.json()) as { error: { code: string } }).error.code, "daily_token_budget");
      // The budget is per UTC day: come back at the next UTC midnight, as seen from either end.
      const toMidnight = (ms: number) => Math.ceil((Math.floor(ms / DAY_MS) * DAY_MS + DAY_MS - ms) / 1000);
      const retryAfter = Number(next.headers.get("retry-after"));
      assert.ok(
        retryAfter <= toMidnight(sentAt) && retryAfter >= toMidnight(answeredAt),
        `Retry-After ${retryAfter} s is the time to the next UTC midnight`,
      );
    } finally {
      await budget.close();
    }
  });
});
