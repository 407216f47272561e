/**
 * Chat replies streamed through the real @google/genai SDK from the fake Gemini server:
 * tokens reach curl as the model makes them, and every way a reply can end (done, client
 * gone, stop, model failure) is stored correctly and never hangs.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { createParser } from "eventsource-parser";
import { createProviders } from "../backend/ai/providers.ts";
import { createApi } from "../backend/api/index.ts";
import type { FakeGemini } from "../fixtures/fake-gemini.ts";
import { chatStack, type ChatStack } from "./support/chat-stack.ts";
import { as, quiet, sseEvents, streamingAs, type SagaStack } from "./support/saga.ts";
import { nodeTarget } from "./support/targets.ts";
import { chatStore } from "../backend/chats/store.ts";
import { Table } from "../backend/data/table.ts";

let gemini: FakeGemini;
let stack: SagaStack;
let suite: ChatStack;
let owner: { uid: string; personaId: string };

before(async () => {
  suite = await chatStack({ GEMINI_BREAKER_COOLDOWN_MS: "1" });
  ({ gemini, stack, owner } = suite);
});
after(async () => {
  await suite.close();
});

async function newChat(): Promise<string> {
  const res = await fetch(`${stack.target.url}/v1/chats`, { method: "POST", headers: as(owner.uid), body: "{}" });
  return ((await res.json()) as { chat_id: string }).chat_id;
}

const sendUrl = (chatId: string) => `${stack.target.url}/v1/chats/${chatId}/messages`;

async function history(chatId: string) {
  const res = await fetch(`${stack.target.url}/v1/chats/${chatId}/messages`, { headers: as(owner.uid) });
  // The persona's greeting opens every chat; these tests are about the turns after it.
  const { messages } = (await res.json()) as {
    messages: { message_id: string; role: string; text: string; status: string; greeting?: true }[];
  };
  return messages.filter((m) => !m.greeting);
}

/** The history once the reply is no longer generating (stored as it ended). */
async function settledHistory(chatId: string) {
  const deadline = AbortSignal.timeout(30_000);
  for (;;) {
    const messages = await history(chatId);
    if (messages.length === 2 && messages[1]!.status !== "generating") return messages;
    if (deadline.aborted) throw new Error(`reply never settled: ${JSON.stringify(messages)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const CHUNKS = ["Hello", " there", ", friend", ". Tea", " time", "?"];

/** Reads token texts from a streamed reply until `count` arrived, then drops the connection. */
async function tokensUntilLeaving(res: Response, controller: AbortController, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const parser = createParser({ onEvent: (e) => e.event === "token" && tokens.push(JSON.parse(e.data).text) });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body!) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (tokens.length >= count) controller.abort();
    }
  } catch (error) {
    assert.equal((error as Error).name, "AbortError");
  }
  return tokens;
}

describe("streaming a reply", () => {
  test("curl -N prints the first token before the model has sent the second; the transcript is exact", async () => {
    // Prepare: the model writes its second chunk only once the test saw the first in curl's
    // output, so anything that buffered the reply would never print it.
    const chatId = await newChat();
    gemini.enqueue({ kind: "text", chunks: CHUNKS, stepwise: true });
    const seen = gemini.requests.length;

    // Act
    const curl = spawn("curl", [
      "-N",
      "-s",
      "-X",
      "POST",
      sendUrl(chatId),
      "-H",
      `x-user-uid: ${owner.uid}`,
      "-H",
      "content-type: application/json",
      "-H",
      "accept: text/event-stream",
      "-d",
      '{"text":"hi"}',
    ]);
    const exited = new Promise<number | null>((resolve) => curl.on("close", resolve));
    let output = "";
    const events: { event?: string; data: string }[] = [];
    const firstToken = Promise.withResolvers<void>();
    const parser = createParser({
      onEvent: (e) => {
        events.push(e);
        if (e.event === "token") firstToken.resolve();
      },
    });
    curl.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      parser.feed(chunk.toString());
    });
    await firstToken.promise;
    const request = gemini.requests.slice(seen).find((r) => r.method === "streamGenerateContent")!;
    const writtenAtFirstToken = request.sentAt.length;
    for (let i = 1; i < CHUNKS.length; i++) request.release();
    const code = await exited;

    // Assess
    assert.equal(code, 0);
    assert.equal(writtenAtFirstToken, 1, "curl printed the first token while the model had written only that chunk");
    const kinds = events.map((e) => e.event);
    assert.deepEqual(kinds, ["message", ...CHUNKS.map(() => "token"), "stored", "done"]);
    assert.equal(
      events
        .filter((e) => e.event === "token")
        .map((e) => JSON.parse(e.data).text)
        .join(""),
      CHUNKS.join(""),
    );
    const messages = await history(chatId);
    assert.equal(messages[1]!.text, CHUNKS.join(""));
    assert.equal(messages[1]!.status, "complete");
    assert.match(output, /^event: message\n/);
  });

  test("a client that leaves after 3 tokens does not stop the reply: it is generated to the end and stored complete", async () => {
    // Prepare: the model writes one chunk per release.
    const chatId = await newChat();
    gemini.enqueue({ kind: "text", chunks: CHUNKS, stepwise: true });
    const seen = gemini.requests.length;
    const controller = new AbortController();
    const res = await fetch(sendUrl(chatId), {
      method: "POST",
      headers: streamingAs(owner.uid),
      body: '{"text":"tell me more"}',
      signal: controller.signal,
    });
    const model = (await gemini.arrived(seen + 1))[seen]!;
    model.release();
    model.release();

    // Act: leave after 3 tokens, then let the model finish.
    const tokens = await tokensUntilLeaving(res, controller, 3);
    for (let i = 3; i < CHUNKS.length; i++) model.release();

    // Assess
    assert.equal(await model.settled, "completed");
    const [user, reply] = await settledHistory(chatId);
    assert.deepEqual([user!.role, user!.text], ["user", "tell me more"]);
    assert.deepEqual(tokens, CHUNKS.slice(0, 3));
    assert.deepEqual([reply!.status, reply!.text], ["complete", CHUNKS.join("")]);
  });

  test("with CHAT_CONTINUE_AFTER_DISCONNECT=0, a client leaving after 3 tokens aborts the model call; the reply keeps exactly what was sent", async () => {
    // Prepare: the same table, served by an app that stops a reply its client left.
    const env = { ...process.env, GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url };
    const stopping = await nodeTarget(
      createApi({ ...stack.config, chatContinueAfterDisconnect: false }, { logger: quiet, ports: createProviders(env, quiet) }),
    );
    try {
      const chatId = await newChat();
      gemini.enqueue({ kind: "text", chunks: CHUNKS, stepwise: true });
      const seen = gemini.requests.length;
      const controller = new AbortController();
      const res = await fetch(`${stopping.url}/v1/chats/${chatId}/messages`, {
        method: "POST",
        headers: streamingAs(owner.uid),
        body: '{"text":"tell me more"}',
        signal: controller.signal,
      });
      const model = (await gemini.arrived(seen + 1))[seen]!;
      model.release();
      model.release();

      // Act
      const tokens = await tokensUntilLeaving(res, controller, 3);

      // Assess
      await model.aborted;
      const [, reply] = await settledHistory(chatId);
      assert.equal(reply!.status, "interrupted");
      assert.deepEqual(tokens, CHUNKS.slice(0, 3));
      assert.equal(reply!.text, tokens.join(""));
    } finally {
      await stopping.close();
    }
  });

  test("stop from a second connection halts the stream within one chunk and stores interrupted", async () => {
    const chatId = await newChat();
    gemini.enqueue({ kind: "text", chunks: CHUNKS, delayMs: 0, heldBeforeChunk: 3 });
    const seen = gemini.requests.length;
    const res = await fetch(sendUrl(chatId), { method: "POST", headers: streamingAs(owner.uid), body: '{"text":"go on"}' });
    const events: { event?: string; data: string }[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    while (events.filter((e) => e.event === "token").length < 3) parser.feed(decoder.decode((await reader.read()).value, { stream: true }));
    const replyId = JSON.parse(events[0]!.data).reply_id;

    const stop = await fetch(`${sendUrl(chatId)}/${replyId}/stop`, { method: "POST", headers: as(owner.uid) });
    assert.equal(stop.status, 202);
    gemini.requests
      .slice(seen)
      .find((r) => r.method === "streamGenerateContent")!
      .release();
    for (let r = await reader.read(); !r.done; r = await reader.read()) parser.feed(decoder.decode(r.value, { stream: true }));

    const tokens = events.filter((e) => e.event === "token").map((e) => JSON.parse(e.data).text);
    assert.ok(tokens.length <= 4, `at most one chunk after the stop, got ${tokens.length}`);
    assert.deepEqual(
      events.slice(-2).map((e) => e.event),
      ["stored", "done"],
    );
    assert.deepEqual(JSON.parse(events.at(-2)!.data), { reply_id: replyId, status: "interrupted" });
    const [, reply] = await settledHistory(chatId);
    assert.equal(reply!.text, tokens.join(""));
    const again = await fetch(`${sendUrl(chatId)}/${replyId}/stop`, { method: "POST", headers: as(owner.uid) });
    assert.equal(again.status, 409);
  });

  test("a stop flag set by another process is seen between chunks", async () => {
    // The same table, served by an app that checks the flag before every chunk.
    const env = { ...process.env, GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url };
    const eager = await nodeTarget(
      createApi({ ...stack.config, chatStopPollMs: 0 }, { logger: quiet, ports: createProviders(env, quiet) }),
    );
    try {
      const chatId = await newChat();
      gemini.enqueue({ kind: "text", chunks: CHUNKS, delayMs: 0, heldBeforeChunk: 2 });
      const seen = gemini.requests.length;
      const res = await fetch(`${eager.url}/v1/chats/${chatId}/messages`, {
        method: "POST",
        headers: streamingAs(owner.uid),
        body: '{"text":"and?"}',
      });
      const events: { event?: string; data: string }[] = [];
      const parser = createParser({ onEvent: (e) => events.push(e) });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      while (events.filter((e) => e.event === "token").length < 2)
        parser.feed(decoder.decode((await reader.read()).value, { stream: true }));
      // Only the table knows: what a stop handled by another Lambda instance leaves behind.
      assert.equal(
        await chatStore(new Table(stack.config.tableName)).requestStop(chatId, JSON.parse(events[0]!.data).reply_id),
        "stopping",
      );
      gemini.requests
        .slice(seen)
        .find((r) => r.method === "streamGenerateContent")!
        .release();
      for (let r = await reader.read(); !r.done; r = await reader.read()) parser.feed(decoder.decode(r.value, { stream: true }));
      assert.equal(JSON.parse(events.at(-2)!.data).status, "interrupted");
      assert.equal(events.filter((e) => e.event === "token").length, 2, "no chunk after the flag was set");
    } finally {
      await eager.close();
    }
  });
});

describe("the stop flag read beside the tokens", () => {
  test("a stop flag set by another process ends a reply whose model has gone quiet, without a token to carry the read", async () => {
    // Prepare: an app reading the flag every 20 ms on its own timer; a model that holds after two chunks
    const env = { ...process.env, GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url };
    const watching = await nodeTarget(
      createApi({ ...stack.config, chatStopPollMs: 20 }, { logger: quiet, ports: createProviders(env, quiet) }),
    );
    try {
      const chatId = await newChat();
      gemini.enqueue({ kind: "text", chunks: CHUNKS, delayMs: 0, heldBeforeChunk: 2 });
      const seen = gemini.requests.length;
      const res = await fetch(`${watching.url}/v1/chats/${chatId}/messages`, {
        method: "POST",
        headers: streamingAs(owner.uid),
        body: '{"text":"and?"}',
      });
      const events: { event?: string; data: string }[] = [];
      const parser = createParser({ onEvent: (e) => events.push(e) });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      while (events.filter((e) => e.event === "token").length < 2)
        parser.feed(decoder.decode((await reader.read()).value, { stream: true }));

      // Act: only the table knows (a stop another instance handled); the model is never released
      assert.equal(
        await chatStore(new Table(stack.config.tableName)).requestStop(chatId, JSON.parse(events[0]!.data).reply_id),
        "stopping",
      );
      for (let r = await reader.read(); !r.done; r = await reader.read()) parser.feed(decoder.decode(r.value, { stream: true }));

      // Assess: the reply ended as stopped, with what was handed out, and the model call was given up
      assert.equal(JSON.parse(events.at(-2)!.data).status, "interrupted");
      assert.equal(events.filter((e) => e.event === "token").length, 2);
      const call = gemini.requests.slice(seen).find((r) => r.method === "streamGenerateContent")!;
      assert.equal(await call.settled, "aborted");
    } finally {
      await watching.close();
    }
  });
});

describe("a reply still generating at the stream's maximum life", () => {
  test("is cut off like a stop: the client gets stored (interrupted) and done; the reply keeps what was sent", async () => {
    // Prepare: an app whose streams live 300 ms, a model that holds after two chunks
    const env = { ...process.env, GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url };
    const brief = await nodeTarget(
      createApi({ ...stack.config, sseMaxLifeMs: 300 }, { logger: quiet, ports: createProviders(env, quiet) }),
    );
    try {
      const chatId = await newChat();
      gemini.enqueue({ kind: "text", chunks: CHUNKS, delayMs: 0, heldBeforeChunk: 2 });
      const seen = gemini.requests.length;

      // Act
      const res = await fetch(`${brief.url}/v1/chats/${chatId}/messages`, {
        method: "POST",
        headers: streamingAs(owner.uid),
        body: '{"text":"take your time"}',
      });
      const body = await res.text();

      // Assess
      const events: { event?: string; data: string }[] = [];
      createParser({ onEvent: (e) => events.push(e) }).feed(body);
      assert.deepEqual(
        events.slice(-2).map((e) => e.event),
        ["stored", "done"],
      );
      assert.equal(JSON.parse(events.at(-2)!.data).status, "interrupted");
      assert.match(body, /: the stream reached its maximum life\n\n$/);
      await gemini.requests.slice(seen).find((r) => r.method === "streamGenerateContent")!.aborted;
      const tokens = events.filter((e) => e.event === "token").map((e) => JSON.parse(e.data).text);
      const [, reply] = await settledHistory(chatId);
      assert.deepEqual([reply!.status, reply!.text], ["interrupted", tokens.join("")]);
    } finally {
      await brief.close();
    }
  });
});

describe("when the model fails", () => {
  test("a 500 before the first token: error event, the user's message kept, the reply failed", async () => {
    const chatId = await newChat();
    gemini.enqueue({ kind: "error", status: 500 }, { kind: "error", status: 500 }, { kind: "error", status: 500 });
    const events = await sseEvents(
      await fetch(sendUrl(chatId), { method: "POST", headers: streamingAs(owner.uid), body: '{"text":"hello?"}' }),
    );
    assert.deepEqual(
      events.map((e) => e.event),
      ["message", "error"],
    );
    assert.equal(events[1]!.data.code, "model_unavailable");
    const [user, reply] = await settledHistory(chatId);
    assert.equal(user!.text, "hello?");
    assert.deepEqual([reply!.status, reply!.text], ["failed", ""]);
  });

  test("asked for JSON, a failing model is 503 model_unavailable with Retry-After, a refusal 422 model_refused", async () => {
    // Prepare
    const down = await newChat();
    const refusing = await newChat();
    gemini.enqueue({ kind: "error", status: 500 }, { kind: "error", status: 500 }, { kind: "error", status: 500 });

    // Act
    const unavailable = await fetch(sendUrl(down), { method: "POST", headers: as(owner.uid), body: '{"text":"hello?"}' });
    gemini.enqueue({ kind: "blocked", reason: "SAFETY" });
    const refused = await fetch(sendUrl(refusing), { method: "POST", headers: as(owner.uid), body: '{"text":"something awful"}' });

    // Assess: the codes of the stream's `error` event, each with its one status.
    assert.equal(unavailable.status, 503);
    assert.equal(((await unavailable.json()) as { error: { code: string } }).error.code, "model_unavailable");
    assert.ok(Number(unavailable.headers.get("retry-after")) >= 1);
    assert.equal(refused.status, 422);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "model_refused");
    const [user] = await settledHistory(down);
    assert.equal(user!.text, "hello?", "the user's message is kept");
  });

  test("a cut mid-stream: tokens, then an error event; the reply is interrupted with what came", async () => {
    const chatId = await newChat();
    gemini.enqueue({ kind: "fail-mid-stream", chunks: ["Half", " a"], delayMs: 0 });
    const events = await sseEvents(
      await fetch(sendUrl(chatId), { method: "POST", headers: streamingAs(owner.uid), body: '{"text":"story?"}' }),
    );
    assert.deepEqual(
      events.map((e) => e.event),
      ["message", "token", "token", "error"],
    );
    const [, reply] = await settledHistory(chatId);
    assert.deepEqual([reply!.status, reply!.text], ["interrupted", "Half a"]);
  });
});
