/**
 * Replies that survive the network: a client leaves and resumes from where it was, a second
 * tab follows a reply being written, a stop from a follower stops it for everyone, and a
 * generator killed mid-reply (SIGKILL of a child API process) ends `interrupted` for a reader
 * in another process. Real @google/genai SDK against the fake Gemini server, DynamoDB Local,
 * node:http.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createParser } from "eventsource-parser";
import type { FakeGemini } from "../fixtures/fake-gemini.ts";
import { chatStack, type ChatStack } from "./support/chat-stack.ts";
import { killEntryProcesses, startEntryProcess } from "./support/entry-process.ts";
import { as, streamingAs, type SagaStack } from "./support/saga.ts";

let gemini: FakeGemini;
let stack: SagaStack;
let suite: ChatStack;
let owner: { uid: string; personaId: string };
const LEASE_MS = 1_500;

before(async () => {
  suite = await chatStack({
    CHAT_LEASE_MS: String(LEASE_MS),
    CHAT_PROGRESS_INTERVAL_MS: "100",
    CHAT_RESUME_POLL_MS: "50",
  });
  ({ gemini, stack, owner } = suite);
});
after(async () => {
  killEntryProcesses();
  await suite.close();
});

type Event = { event: string; id: string | undefined; data: any };

/** An SSE response read as it arrives: the events so far, a wait for a condition on them, the end. */
function reading(res: Response) {
  const events: Event[] = [];
  const waiters = new Set<() => void>();
  const parser = createParser({
    onEvent: (e) => {
      events.push({ event: e.event ?? "message", id: e.id, data: JSON.parse(e.data) });
      for (const check of waiters) check();
    },
  });
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (error) {
      // Our own abort, or the server gone (the SIGKILL test).
      if ((error as Error).name !== "AbortError" && (error as Error).message !== "terminated") throw error;
    }
    for (const check of waiters) check();
    return events;
  })();
  let over = false;
  void ended.finally(() => (over = true));
  return {
    events,
    ended,
    tokens: () => events.filter((e) => e.event === "token"),
    /** Resolves once `ok(events)` holds; rejects if the stream ends first. */
    until(ok: (events: Event[]) => boolean): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (ok(events)) {
            waiters.delete(check);
            resolve();
          } else if (over) reject(new Error(`stream ended first: ${JSON.stringify(events)}`));
        };
        waiters.add(check);
        void ended.finally(check);
        check();
      });
    },
  };
}

const tokenCount = (n: number) => (events: Event[]) => events.filter((e) => e.event === "token").length >= n;
const textOf = (events: Event[]) =>
  events
    .filter((e) => e.event === "token")
    .map((e) => e.data.text)
    .join("");

async function newChat(): Promise<string> {
  const res = await fetch(`${stack.target.url}/v1/chats`, { method: "POST", headers: as(owner.uid), body: "{}" });
  return ((await res.json()) as { chat_id: string }).chat_id;
}

function send(base: string, chatId: string, text: string, signal?: AbortSignal) {
  return fetch(`${base}/v1/chats/${chatId}/messages`, {
    method: "POST",
    headers: streamingAs(owner.uid),
    body: JSON.stringify({ text }),
    signal,
  });
}

function resume(chatId: string, replyId: string, headers: Record<string, string> = {}, query = "", uid = owner.uid) {
  return fetch(`${stack.target.url}/v1/chats/${chatId}/messages/${replyId}/stream${query}`, {
    headers: { ...streamingAs(uid), ...headers },
  });
}

async function storedReply(chatId: string) {
  const res = await fetch(`${stack.target.url}/v1/chats/${chatId}/messages`, { headers: as(owner.uid) });
  return ((await res.json()) as { messages: { role: string; text: string; status: string }[] }).messages.at(-1)!;
}

/** The model's request for the chat turn started after `seen` requests. */
async function modelCall(seen: number) {
  const streaming = (r: { method: string }) => r.method === "streamGenerateContent";
  const before = gemini.requests.slice(0, seen).filter(streaming).length;
  return (await gemini.arrived(before + 1, streaming)).at(-1)!;
}

const LETTERS = "abcdefghijkl".split("");

describe("resuming a reply", () => {
  test("a client leaves after 5 tokens; a second connection with Last-Event-ID: 5 gets tokens 6…N exactly once, then stored and done", async () => {
    // Prepare: a model writing one-letter chunks, one per release.
    const chatId = await newChat();
    gemini.enqueue({ kind: "text", chunks: LETTERS, stepwise: true });
    const seen = gemini.requests.length;
    const leaving = new AbortController();
    const first = reading(await send(stack.target.url!, chatId, "spell it", leaving.signal));
    const model = await modelCall(seen);
    for (let i = 1; i < 5; i++) model.release();
    await first.until(tokenCount(5));
    leaving.abort();
    await first.ended;
    const replyId = first.events[0]!.data.reply_id as string;

    // Act: the model goes on without the client; a new connection resumes, then the rest arrives live.
    model.release();
    const second = reading(await resume(chatId, replyId, { "last-event-id": first.tokens().at(-1)!.id! }));
    await second.until(tokenCount(1));
    for (let i = 6; i < LETTERS.length; i++) model.release();
    await second.ended;

    // Assess
    assert.equal(first.tokens().at(-1)!.id, "5", "the 5th one-letter token's id is 5");
    assert.deepEqual(
      second.events.map((e) => e.event).filter((k) => k !== "token"),
      ["stored", "done"],
    );
    assert.equal(textOf(second.events), LETTERS.slice(5).join(""), "tokens 6…N, each once");
    assert.deepEqual(second.events.at(-2)!.data, { reply_id: replyId, status: "complete" });
    const ids = [...first.events, ...second.events].map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      "ids only go up across both connections",
    );
    assert.equal(new Set(ids).size, ids.length, "no id twice");
    const reply = await storedReply(chatId);
    assert.deepEqual([reply.status, reply.text], ["complete", textOf(first.events) + textOf(second.events)]);
  });

  test("a second tab follows while the first is connected: both get the same text in the same order, with the same ids", async () => {
    // Prepare
    const chatId = await newChat();
    const chunks = ["One", " two", " three", " four", " five", " six"];
    gemini.enqueue({ kind: "text", chunks, stepwise: true });
    const seen = gemini.requests.length;
    const tab1 = reading(await send(stack.target.url!, chatId, "count"));
    const model = await modelCall(seen);
    model.release();
    await tab1.until(tokenCount(2));

    // Act: the second tab opens the reply from its start, then the model goes on.
    const tab2 = reading(await resume(chatId, tab1.events[0]!.data.reply_id));
    await tab2.until(tokenCount(2));
    for (let i = 2; i < chunks.length; i++) model.release();
    await Promise.all([tab1.ended, tab2.ended]);

    // Assess
    assert.equal(textOf(tab1.events), chunks.join(""));
    assert.equal(textOf(tab2.events), chunks.join(""));
    assert.deepEqual(tab2.events[0], tab1.events[0], "the same `message` event, id 0");
    const ids1 = tab1.events.map((e) => e.id);
    for (const e of tab2.events) assert.ok(ids1.includes(e.id), `tab 2's id ${e.id} is one tab 1 had`);
    assert.deepEqual(tab2.events.slice(-2), tab1.events.slice(-2), "the same stored and done");
  });

  test("Stop pressed during a resumed follow stops generation for everyone: stored interrupted with what was streamed", async () => {
    // Prepare: the client leaves after 2 tokens; the model then waits before its 4th chunk.
    const chatId = await newChat();
    gemini.enqueue({ kind: "text", chunks: ["Wait", " for", " it", " now", "!"], delayMs: 0, heldBeforeChunk: 3 });
    const seen = gemini.requests.length;
    const leaving = new AbortController();
    const first = reading(await send(stack.target.url!, chatId, "suspense", leaving.signal));
    await first.until(tokenCount(2));
    leaving.abort();
    const replyId = first.events[0]!.data.reply_id as string;
    const follower = reading(await resume(chatId, replyId, {}, "?after=0"));
    await follower.until(tokenCount(1));
    await follower.until((events) => textOf(events) === "Wait for it");

    // Act
    const stop = await fetch(`${stack.target.url}/v1/chats/${chatId}/messages/${replyId}/stop`, { method: "POST", headers: as(owner.uid) });
    const events = await follower.ended;

    // Assess
    assert.equal(stop.status, 202);
    await (await modelCall(seen)).aborted;
    assert.deepEqual(events.at(-2)!.data, { reply_id: replyId, status: "interrupted" });
    assert.equal(events.at(-1)!.event, "done");
    const reply = await storedReply(chatId);
    assert.deepEqual([reply.status, reply.text], ["interrupted", textOf(events)]);
  });

  test("a finished reply is replayed whole (or after the id given), then the stream ends; JSON gets the reply", async () => {
    // Prepare
    const chatId = await newChat();
    gemini.enqueue({ kind: "text", chunks: ["All", " done", "."], delayMs: 0 });
    const sent = await reading(await send(stack.target.url!, chatId, "finish")).ended;
    const replyId = sent[0]!.data.reply_id as string;

    // Act
    const whole = await reading(await resume(chatId, replyId)).ended;
    const rest = await reading(await resume(chatId, replyId, { "last-event-id": "3" })).ended;
    const nothing = await reading(await resume(chatId, replyId, { "last-event-id": "11" })).ended;
    const json = await fetch(`${stack.target.url}/v1/chats/${chatId}/messages/${replyId}/stream`, { headers: as(owner.uid) });

    // Assess
    assert.deepEqual(
      whole.map((e) => [e.event, e.id]),
      [
        ["message", "0"],
        ["token", "9"],
        ["stored", "10"],
        ["done", "11"],
      ],
    );
    assert.equal(textOf(whole), "All done.");
    assert.deepEqual(whole.slice(-2), sent.slice(-2), "the same ending as the live stream");
    assert.deepEqual(
      rest.map((e) => [e.event, e.id, e.data.text]),
      [
        ["token", "9", " done."],
        ["stored", "10", undefined],
        ["done", "11", undefined],
      ],
    );
    assert.deepEqual(nothing, []);
    assert.equal(json.status, 200);
    const body = (await json.json()) as { message_id: string; role: string; text: string; status: string };
    assert.deepEqual([body.message_id, body.role, body.text, body.status], [replyId, "model", "All done.", "complete"]);
  });
});

describe("what resuming refuses", () => {
  test("someone else's reply and a user message are 404; a malformed id 400 invalid_event_id; an id past the reply 400 unknown_event_id", async () => {
    // Prepare
    const chatId = await newChat();
    gemini.enqueue({ kind: "text", chunks: ["Short."], delayMs: 0 });
    const sent = await reading(await send(stack.target.url!, chatId, "hi")).ended;
    const { reply_id: replyId, user_message_id: userMessageId } = sent[0]!.data;

    // Act
    const stranger = await resume(chatId, replyId, {}, "", "someone-else");
    const userMessage = await resume(chatId, userMessageId);
    const malformed = await resume(chatId, replyId, { "last-event-id": "five" });
    const malformedQuery = await resume(chatId, replyId, {}, "?after=0.3");
    const pastTheEnd = await resume(chatId, replyId, { "last-event-id": "9" });
    const laterAlternate = await resume(chatId, replyId, {}, "?after=2.0");

    // Assess
    const code = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    assert.deepEqual(await code(stranger), [404, "not_found"]);
    assert.deepEqual(await code(userMessage), [404, "not_found"]);
    assert.deepEqual(await code(malformed), [400, "invalid_event_id"]);
    assert.deepEqual(await code(malformedQuery), [400, "invalid_event_id"]);
    assert.deepEqual(await code(pastTheEnd), [400, "unknown_event_id"]);
    assert.deepEqual(await code(laterAlternate), [400, "unknown_event_id"]);
  });
});

describe("a generator that dies", () => {
  test("SIGKILL of the API process generating a reply: a reader in another process sees it end interrupted with the persisted tokens", async () => {
    // Prepare: a second API process on the same table; its client stays connected, so it
    // persists nothing until the reader here asks (the `followed` flag).
    const api = startEntryProcess(process.execPath, ["--import", "tsx", "backend/main.ts"], {
      cwd: process.cwd(),
      env: {
        ...(process.env as Record<string, string>),
        AUTH_MODE: "local",
        PORT: "0",
        // Its "api listening" line tells us the port.
        POWERTOOLS_LOG_LEVEL: "INFO",
        TABLE_NAME: stack.config.tableName,
        SYNTHESIS_QUEUE_URL: stack.config.synthesisQueueUrl,
        IMAGE_QUEUE_URL: stack.config.imageQueueUrl,
        GEMINI_API_KEY: "test-key",
        GEMINI_BASE_URL: gemini.url,
        CHAT_MESSAGES_PER_MINUTE: "1000",
        CHAT_LEASE_MS: String(LEASE_MS),
        CHAT_PROGRESS_INTERVAL_MS: "100",
        CHAT_STOP_POLL_MS: "50",
      },
    });
    const base = /"url":"([^"]+)"/.exec(await api.line(/api listening/))![1]!;
    const chatId = await newChat();
    gemini.enqueue({ kind: "text", chunks: ["Never", " quite", " finished", "!"], delayMs: 0, heldBeforeChunk: 3 });
    const seen = gemini.requests.length;
    const connected = reading(await send(base, chatId, "go"));
    await connected.until(tokenCount(3));
    const replyId = connected.events[0]!.data.reply_id as string;
    const reader = reading(await resume(chatId, replyId));
    await reader.until(tokenCount(3));

    // Act
    api.child.kill("SIGKILL");
    await api.exited;
    const events = await reader.ended;

    // Assess
    await (await modelCall(seen)).aborted;
    assert.equal(textOf(events), "Never quite finished");
    assert.deepEqual(events.at(-2)!.data, { reply_id: replyId, status: "interrupted" });
    assert.equal(events.at(-1)!.event, "done");
    const reply = await storedReply(chatId);
    assert.deepEqual([reply.status, reply.text], ["interrupted", "Never quite finished"]);
    const chat = (await (await fetch(`${stack.target.url}/v1/chats/${chatId}`, { headers: as(owner.uid) })).json()) as {
      generating: boolean;
    };
    assert.equal(chat.generating, false, "the chat takes messages again");
  });
});
