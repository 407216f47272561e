/**
 * Managing chats over HTTP: a new chat opens with the persona's greeting (no model call),
 * chats are listed by last activity, renamed, deleted (nothing of them left in the table),
 * and replies get thumbs up or down from their owner only. Real @google/genai SDK against
 * the fake Gemini server, DynamoDB Local.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createProviders } from "../backend/ai/providers.ts";
import { createApi } from "../backend/api/index.ts";
import { chatStore } from "../backend/chats/store.ts";
import { keys } from "../backend/data/keys.ts";
import { Table } from "../backend/data/table.ts";
import type { FakeGemini } from "../fixtures/fake-gemini.ts";
import { chatStack, type ChatStack } from "./support/chat-stack.ts";
import { as, quiet, sseEvents, streamingAs, type SagaStack } from "./support/saga.ts";
import { nodeTarget } from "./support/targets.ts";

let gemini: FakeGemini;
let stack: SagaStack;
let suite: ChatStack;
let owner: { uid: string; personaId: string };
let table: Table;

before(async () => {
  suite = await chatStack();
  ({ gemini, stack, owner } = suite);
  table = new Table(stack.config.tableName);
});
after(async () => {
  await suite.close();
});

const url = (path: string) => `${stack.target.url}${path}`;
type ChatView = { chat_id: string; title: string; updated_at: string };
type MessageView = { message_id: string; role: string; text: string; status: string; feedback?: string };

async function newChat(uid = owner.uid): Promise<ChatView> {
  return (await (await fetch(url("/v1/chats"), { method: "POST", headers: as(uid), body: "{}" })).json()) as ChatView;
}

async function say(chatId: string, text: string) {
  gemini.enqueue({ kind: "text", chunks: ["Sure", "!"], delayMs: 0 });
  return sseEvents(
    await fetch(url(`/v1/chats/${chatId}/messages`), { method: "POST", headers: streamingAs(owner.uid), body: JSON.stringify({ text }) }),
  );
}

const history = async (chatId: string, uid = owner.uid) =>
  ((await (await fetch(url(`/v1/chats/${chatId}/messages`), { headers: as(uid) })).json()) as { messages: MessageView[] }).messages;

/** Every item of the chat's partition, read from the table itself. */
const itemsOf = (chatId: string) =>
  table.queryAll({
    KeyConditionExpression: "PK = :pk",
    ExpressionAttributeValues: { ":pk": keys.chatItems(chatId).PK },
    ConsistentRead: true,
  });

const errorCode = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];

describe("a new chat", () => {
  test("opens with the persona's greeting as its first message, without calling the model", async () => {
    // Prepare
    const card = ((await (await fetch(url("/v1/personas/me"), { headers: as(owner.uid) })).json()) as { card: { greeting: string } }).card;
    const calls = gemini.requests.length;

    // Act
    const chat = await newChat();
    const messages = await history(chat.chat_id);

    // Assess
    assert.equal(gemini.requests.length, calls, "no model call");
    assert.deepEqual(
      messages.map((m) => [m.role, m.text, m.status]),
      [["model", card.greeting, "complete"]],
    );
  });
});

describe("the chat list", () => {
  test("is ordered by last activity, newest first, and pages by cursor", async () => {
    // Prepare: three new chats, the oldest of them then written in.
    const first = await newChat();
    const second = await newChat();
    const third = await newChat();
    await say(first.chat_id, "back to you");

    // Act
    const page1 = (await (await fetch(url("/v1/chats?limit=2"), { headers: as(owner.uid) })).json()) as {
      chats: ChatView[];
      next_cursor: string;
    };
    const page2 = (await (await fetch(url(`/v1/chats?limit=2&cursor=${page1.next_cursor}`), { headers: as(owner.uid) })).json()) as {
      chats: ChatView[];
    };

    // Assess
    assert.deepEqual(
      page1.chats.map((c) => c.chat_id),
      [first.chat_id, third.chat_id],
    );
    assert.equal(page2.chats[0]!.chat_id, second.chat_id);
  });
});

describe("renaming", () => {
  test("a chat gets its new title; a blank title is 400; someone else's chat is 404", async () => {
    // Prepare
    const chat = await newChat();

    // Act
    const renamed = await fetch(url(`/v1/chats/${chat.chat_id}`), {
      method: "PUT",
      headers: as(owner.uid),
      body: '{"title":"  Tea talk "}',
    });
    const blank = await fetch(url(`/v1/chats/${chat.chat_id}`), { method: "PUT", headers: as(owner.uid), body: '{"title":"   "}' });
    const stranger = await fetch(url(`/v1/chats/${chat.chat_id}`), {
      method: "PUT",
      headers: as("someone-else"),
      body: '{"title":"Mine"}',
    });

    // Assess
    assert.equal(renamed.status, 200);
    assert.equal(((await renamed.json()) as ChatView).title, "Tea talk");
    assert.deepEqual(await errorCode(blank), [400, "validation_failed"]);
    assert.deepEqual(await errorCode(stranger), [404, "not_found"]);
    const read = (await (await fetch(url(`/v1/chats/${chat.chat_id}`), { headers: as(owner.uid) })).json()) as ChatView;
    assert.equal(read.title, "Tea talk");
  });
});

describe("deleting a chat", () => {
  test("the chat is gone at once, and no item of its messages is left in the table", async () => {
    // Prepare
    const chat = await newChat();
    await say(chat.chat_id, "one");
    await say(chat.chat_id, "two");
    assert.equal((await itemsOf(chat.chat_id)).length, 5, "greeting and two turns");

    // Act
    const deleted = await fetch(url(`/v1/chats/${chat.chat_id}`), { method: "DELETE", headers: as(owner.uid) });

    // Assess
    assert.deepEqual(await deleted.json(), { chat_id: chat.chat_id, deleted: true });
    assert.equal((await fetch(url(`/v1/chats/${chat.chat_id}`), { headers: as(owner.uid) })).status, 404);
    const list = (await (await fetch(url("/v1/chats?limit=100"), { headers: as(owner.uid) })).json()) as { chats: ChatView[] };
    assert.ok(!list.chats.some((c) => c.chat_id === chat.chat_id));
    assert.deepEqual(await itemsOf(chat.chat_id), []);
  });

  test("a long chat's messages are removed in the background after the answer, until none is left", async () => {
    // Prepare: an app that answers at once, and a chat of more than one page (100) of items.
    const env = { ...process.env, GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url };
    const hasty = await nodeTarget(
      createApi({ ...stack.config, chatDeleteInlineMs: 0 }, { logger: quiet, ports: createProviders(env, quiet) }),
    );
    try {
      const chat = await newChat();
      const store = chatStore(table);
      const stored = (await store.find(owner.uid, chat.chat_id))!;
      for (let i = 0; i < 60; i++) {
        const turn = (await store.beginTurn(stored, `message ${i}`, 60_000))!;
        await store.finishTurn(stored, turn.reply, { text: `reply ${i}`, status: "complete" });
      }

      // Act
      const deleted = await fetch(`${hasty.url}/v1/chats/${chat.chat_id}`, { method: "DELETE", headers: as(owner.uid) });
      const rightAfter = await fetch(url(`/v1/chats/${chat.chat_id}`), { headers: as(owner.uid) });

      // Assess
      assert.equal(deleted.status, 200);
      assert.equal(rightAfter.status, 404, "gone for its owner at once");
      const deadline = AbortSignal.timeout(30_000);
      while ((await itemsOf(chat.chat_id)).length > 0) {
        if (deadline.aborted) throw new Error("messages were left in the table");
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await hasty.close();
    }
  });

  test("is refused with 409 reply_in_progress while a reply is being generated; someone else's chat is 404", async () => {
    // Prepare: a reply the model holds after its first chunk.
    const chat = await newChat();
    gemini.enqueue({ kind: "text", chunks: ["Hold", " on"], delayMs: 0, heldBeforeChunk: 1 });
    const seen = gemini.requests.length;
    const reply = await fetch(url(`/v1/chats/${chat.chat_id}/messages`), {
      method: "POST",
      headers: streamingAs(owner.uid),
      body: '{"text":"wait"}',
    });
    await gemini.arrived(seen + 1);

    // Act
    const busy = await fetch(url(`/v1/chats/${chat.chat_id}`), { method: "DELETE", headers: as(owner.uid) });
    const stranger = await fetch(url(`/v1/chats/${chat.chat_id}`), { method: "DELETE", headers: as("someone-else") });

    // Assess
    assert.deepEqual(await errorCode(busy), [409, "reply_in_progress"]);
    assert.deepEqual(await errorCode(stranger), [404, "not_found"]);
    gemini.requests
      .slice(seen)
      .find((r) => r.method === "streamGenerateContent")!
      .release();
    await sseEvents(reply);
    assert.equal((await fetch(url(`/v1/chats/${chat.chat_id}`), { method: "DELETE", headers: as(owner.uid) })).status, 200);
  });
});

describe("feedback on a reply", () => {
  test("thumbs up is stored and shown in history, null takes it back; a user message or someone else's reply is 404; a bad rating 400", async () => {
    // Prepare
    const chat = await newChat();
    const events = await say(chat.chat_id, "rate me");
    const { reply_id: replyId, user_message_id: userMessageId } = events[0]!.data;
    const feedback = (id: string, body: string, uid = owner.uid) =>
      fetch(url(`/v1/chats/${chat.chat_id}/messages/${id}/feedback`), { method: "PUT", headers: as(uid), body });

    // Act
    const up = await feedback(replyId, '{"rating":"up"}');
    const afterUp = await history(chat.chat_id);
    const down = await feedback(replyId, '{"rating":"down"}');
    const afterDown = await history(chat.chat_id);
    const cleared = await feedback(replyId, '{"rating":null}');
    const afterClear = await history(chat.chat_id);
    const onUser = await feedback(userMessageId, '{"rating":"up"}');
    const stranger = await feedback(replyId, '{"rating":"down"}', "someone-else");
    const bad = await feedback(replyId, '{"rating":"meh"}');

    // Assess
    assert.deepEqual(await up.json(), { reply_id: replyId, rating: "up" });
    assert.equal(afterUp.find((m) => m.message_id === replyId)!.feedback, "up");
    assert.equal(down.status, 200);
    assert.equal(afterDown.find((m) => m.message_id === replyId)!.feedback, "down");
    assert.deepEqual(await cleared.json(), { reply_id: replyId, rating: null });
    assert.equal(afterClear.find((m) => m.message_id === replyId)!.feedback, undefined);
    assert.deepEqual(await errorCode(onUser), [404, "not_found"]);
    assert.deepEqual(await errorCode(stranger), [404, "not_found"]);
    assert.deepEqual(await errorCode(bad), [400, "validation_failed"]);
    assert.equal(afterUp.find((m) => m.message_id === replyId)!.role, "model");
  });

  test("is in the owner's export, with the reply it rates", async () => {
    // Prepare
    const chat = await newChat();
    const events = await say(chat.chat_id, "export me");
    const replyId = events[0]!.data.reply_id as string;
    await fetch(url(`/v1/chats/${chat.chat_id}/messages/${replyId}/feedback`), {
      method: "PUT",
      headers: as(owner.uid),
      body: '{"rating":"down"}',
    });

    // Act
    const exported = (await (await fetch(url("/v1/me/export"), { headers: as(owner.uid) })).json()) as {
      chats: { chat_id: string; messages: MessageView[] }[];
    };

    // Assess
    const messages = exported.chats.find((c) => c.chat_id === chat.chat_id)!.messages;
    assert.deepEqual(
      messages.map((m) => [m.role, m.feedback]),
      [
        ["model", undefined],
        ["user", undefined],
        ["model", "down"],
      ],
    );
  });
});
