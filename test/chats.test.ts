/**
 * Chats over HTTP against DynamoDB Local with the offline provider: opening, listing,
 * sending with a streamed reply, history pagination, ownership and limits.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { as, ownerWithReadyPersona, sagaStack, sseEvents, streamingAs, type SagaStack } from "./support/saga.ts";

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
  return fetch(url(`/v1/chats/${chatId}/messages`), { method: "POST", headers: streamingAs(uid), body: JSON.stringify({ text }) });
}

type Page = {
  messages: { message_id: string; role: string; text: string; status: string; greeting?: true }[];
  next_cursor: string | null;
};
const messages = async (uid: string, chatId: string, query = "") =>
  (await (await fetch(url(`/v1/chats/${chatId}/messages${query}`), { headers: as(uid) })).json()) as Page;

describe("chats", () => {
  test("a sent message streams message, tokens, stored, done; both messages are in the history", async () => {
    // Prepare
    const chat = (await (await openChat(owner.uid)).json()) as { chat_id: string };

    // Act
    const res = await send(owner.uid, chat.chat_id, "What do you love doing?");
    const events = await sseEvents(res);
    const history = await messages(owner.uid, chat.chat_id);

    // Assess
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const kinds = events.map((e) => e.event);
    assert.equal(kinds[0], "message");
    assert.deepEqual(kinds.slice(-2), ["stored", "done"]);
    assert.ok(kinds.slice(1, -2).length > 0 && kinds.slice(1, -2).every((k) => k === "token"));
    const { user_message_id, reply_id } = events[0]!.data;
    const text = events
      .filter((e) => e.event === "token")
      .map((e) => e.data.text)
      .join("");
    // Ids are positions in the reply's text: 0, each token's end, then length + 1 and + 2.
    let end = 0;
    const positions = events.slice(1, -2).map((e) => String((end += e.data.text.length)));
    assert.deepEqual(
      events.map((e) => e.id),
      ["0", ...positions, String(text.length + 1), String(text.length + 2)],
    );
    assert.deepEqual(events.at(-2)!.data, { reply_id, status: "complete" });
    assert.deepEqual(
      history.messages.map((m) => [m.message_id, m.role, m.status]),
      [
        [history.messages[0]!.message_id, "model", "complete"],
        [user_message_id, "user", "complete"],
        [reply_id, "model", "complete"],
      ],
    );
    assert.equal(history.messages[0]!.greeting, true, "the persona's greeting opens the chat");
    assert.equal(history.messages[2]!.text, text);
  });

  test("chats are listed newest first (by last activity), with a cursor", async () => {
    const { uid } = await ownerWithReadyPersona(stack.target);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await (await openChat(uid)).json()) as { chat_id: string }).chat_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await fetch(url(`/v1/chats?limit=2${cursor ? `&cursor=${cursor}` : ""}`), { headers: as(uid) })).json()) as {
        chats: { chat_id: string }[];
        next_cursor: string | null;
      };
      seen.push(...page.chats.map((c) => c.chat_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
  });

  test("history pages return every message exactly once, in order, walking older and newer", async () => {
    // Prepare
    const chat = (await (await openChat(owner.uid)).json()) as { chat_id: string };
    for (let i = 0; i < 6; i++) await sseEvents(await send(owner.uid, chat.chat_id, `message number ${i}`));
    const all = await messages(owner.uid, chat.chat_id, "?limit=100");
    const ids = (page: Page) => page.messages.map((m) => m.message_id);

    // Act: back from the latest page (the default), then forward from the first.
    const backwards: string[] = [];
    let page = await messages(owner.uid, chat.chat_id, "?limit=5");
    backwards.unshift(...ids(page));
    while (page.next_cursor) {
      page = await messages(owner.uid, chat.chat_id, `?limit=5&cursor=${page.next_cursor}`);
      backwards.unshift(...ids(page));
    }
    const forwards: string[] = [];
    page = await messages(owner.uid, chat.chat_id, "?limit=4&direction=newer");
    forwards.push(...ids(page));
    while (page.next_cursor) {
      page = await messages(owner.uid, chat.chat_id, `?limit=4&direction=newer&cursor=${page.next_cursor}`);
      forwards.push(...ids(page));
    }

    // Assess
    assert.equal(all.messages.length, 13, "the greeting and six turns");
    assert.equal(all.next_cursor, null);
    assert.deepEqual(ids(all), [...ids(all)].sort(), "chronological (time-ordered ids)");
    assert.deepEqual(backwards, ids(all));
    assert.deepEqual(forwards, ids(all));
  });

  test("a bad limit, cursor or direction is 400 invalid_query naming the parameter", async () => {
    const chat = (await (await openChat(owner.uid)).json()) as { chat_id: string };
    for (const [path, field] of [
      [`/v1/chats/${chat.chat_id}/messages?limit=0`, "limit"],
      [`/v1/chats/${chat.chat_id}/messages?limit=ten`, "limit"],
      [`/v1/chats/${chat.chat_id}/messages?cursor=not-a-cursor`, "cursor"],
      [`/v1/chats/${chat.chat_id}/messages?direction=sideways`, "direction"],
      ["/v1/chats?limit=101", "limit"],
      ["/v1/chats?cursor=%23", "cursor"],
    ] as const) {
      const res = await fetch(url(path), { headers: as(owner.uid) });
      const { error } = (await res.json()) as { error: { code: string; fields: { path: string }[] } };
      assert.equal(res.status, 400, path);
      assert.equal(error.code, "invalid_query", path);
      assert.deepEqual(
        error.fields.map((f) => f.path),
        [field],
        path,
      );
    }
  });

  test("a new chat is 201 with its absolute Location, which reads it back; `me` names the caller's own persona", async () => {
    // Act
    const created = await openChat(owner.uid, { persona_id: "me" });
    const chat = (await created.json()) as { chat_id: string; persona_id: string };
    const location = created.headers.get("location")!;
    const read = await fetch(url(new URL(location).pathname), { headers: as(owner.uid) });

    // Assess
    assert.equal(created.status, 201);
    assert.equal(location, `${stack.config.publicBaseUrl}/api/v1/chats/${chat.chat_id}`);
    assert.equal(chat.persona_id, owner.personaId);
    assert.deepEqual(await read.json(), chat);
  });

  test("a chat is visible only to its creator; a private persona that is not yours is 404", async () => {
    const stranger = await ownerWithReadyPersona(stack.target);
    const chat = (await (await openChat(owner.uid)).json()) as { chat_id: string };
    assert.equal((await fetch(url(`/v1/chats/${chat.chat_id}/messages`), { headers: as(stranger.uid) })).status, 404);
    assert.equal((await fetch(url(`/v1/chats/${chat.chat_id}`), { headers: as(stranger.uid) })).status, 404);
    assert.equal((await send(stranger.uid, chat.chat_id, "hello?")).status, 404);
    assert.equal((await openChat(stranger.uid, { persona_id: owner.personaId })).status, 404);
    assert.equal((await openChat(stranger.uid, { persona_id: "no-such-persona" })).status, 404);
  });

  test("stop: a finished reply is 409; a user message or an id nobody issued is no such reply (404)", async () => {
    // Prepare
    const chat = (await (await openChat(owner.uid)).json()) as { chat_id: string };
    const { user_message_id, reply_id } = (await sseEvents(await send(owner.uid, chat.chat_id, "Hello there")))[0]!.data;
    const stop = (id: string) => fetch(url(`/v1/chats/${chat.chat_id}/messages/${id}/stop`), { method: "POST", headers: as(owner.uid) });

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
    const body = (await json.json()) as { chat_id: string; user_message_id: string; reply: { message_id: string; text: string } };
    assert.ok(body.reply.text.length > 0);
    const stored = await messages(owner.uid, body.chat_id);
    assert.deepEqual(
      stored.messages.slice(-2).map((m) => [m.message_id, m.text]),
      [
        [body.user_message_id, "Hi!"],
        [body.reply.message_id, body.reply.text],
      ],
    );
    const streamed = await fetch(url("/v1/personas/me/chat"), {
      method: "POST",
      headers: { ...as(owner.uid), accept: "text/event-stream" },
      body: JSON.stringify({ text: "Again" }),
    });
    const events = await sseEvents(streamed);
    assert.deepEqual([events[0]!.event, events.at(-1)!.event], ["message", "done"]);
  });
});

describe("content negotiation", () => {
  test("a message sent without Accept: text/event-stream gets the finished turn as JSON, as stored", async () => {
    // Prepare
    const chat = (await (await openChat(owner.uid)).json()) as { chat_id: string };

    // Act
    const res = await fetch(url(`/v1/chats/${chat.chat_id}/messages`), {
      method: "POST",
      headers: { ...as(owner.uid), accept: "*/*" },
      body: JSON.stringify({ text: "Tell me a secret" }),
    });
    const turn = (await res.json()) as { chat_id: string; user_message_id: string; reply: Record<string, unknown> };
    const history = await messages(owner.uid, chat.chat_id);

    // Assess
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get("content-type")), /^application\/json/);
    assert.equal(turn.chat_id, chat.chat_id);
    const turns = history.messages.filter((m) => !m.greeting);
    assert.deepEqual(
      turns.map((m) => m.message_id),
      [turn.user_message_id, turn.reply.message_id],
    );
    assert.deepEqual(turn.reply, turns[1]);
    assert.equal(turn.reply.status, "complete");
  });
});

describe("chat limits", () => {
  test("empty and over-long messages are 400 and store nothing", async () => {
    const chat = (await (await openChat(owner.uid)).json()) as { chat_id: string };
    for (const [text, code] of [
      ["   ", "empty_message"],
      ["x".repeat(4001), "message_too_long"],
    ] as const) {
      const res = await send(owner.uid, chat.chat_id, text);
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, code);
    }
    const stored = (await messages(owner.uid, chat.chat_id)).messages;
    assert.deepEqual(
      stored.map((m) => m.greeting),
      [true],
      "only the greeting",
    );
  });

  test("messages per minute and the daily token budget answer 429 with Retry-After (for the budget: until UTC midnight)", async () => {
    const limited = await sagaStack({ CHAT_MESSAGES_PER_MINUTE: "2", CHAT_DAILY_TOKEN_BUDGET: "1000000" });
    try {
      const me = await ownerWithReadyPersona(limited.target);
      const chat = (await (await fetch(`${limited.target.url}/v1/chats`, { method: "POST", headers: as(me.uid), body: "{}" })).json()) as {
        chat_id: string;
      };
      const say = (text: string) =>
        fetch(`${limited.target.url}/v1/chats/${chat.chat_id}/messages`, {
          method: "POST",
          headers: streamingAs(me.uid),
          body: JSON.stringify({ text }),
        });
      for (const text of ["one", "two"]) await sseEvents(await say(text));
      const third = await say("three");
      assert.equal(third.status, 429);
      const { error } = (await third.json()) as { error: { code: string; details: unknown } };
      assert.deepEqual([error.code, error.details], ["rate_limited", { limit: "chat_messages_per_minute" }]);
      assert.ok(Number(third.headers.get("retry-after")) >= 1);
    } finally {
      await limited.close();
    }
    const budget = await sagaStack({ CHAT_DAILY_TOKEN_BUDGET: "1" });
    try {
      const me = await ownerWithReadyPersona(budget.target);
      const chat = (await (await fetch(`${budget.target.url}/v1/chats`, { method: "POST", headers: as(me.uid), body: "{}" })).json()) as {
        chat_id: string;
      };
      const say = () =>
        fetch(`${budget.target.url}/v1/chats/${chat.chat_id}/messages`, {
          method: "POST",
          headers: streamingAs(me.uid),
          body: JSON.stringify({ text: "hello" }),
        });
      await sseEvents(await say());
      const sentAt = Date.now();
      const next = await say();
      const answeredAt = Date.now();
      assert.equal(next.status, 429);
      const { error } = (await next.json()) as { error: { code: string; details: unknown } };
      assert.deepEqual([error.code, error.details], ["rate_limited", { limit: "daily_token_budget" }]);
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
