/**
 * The last turn made again, over HTTP: regenerate the last reply (alternates kept on it, one
 * shown, history with the count; another chosen), edit the last user message (its reply made
 * anew), the 409s for anything but the last turn or while a reply generates, two tabs
 * regenerating at once, the token budget, and resuming a regenerating alternate by its
 * `1.n` event ids. Real @google/genai SDK against the fake Gemini server, DynamoDB Local.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createParser } from "eventsource-parser";
import type { ReplyRun } from "../backend/chats/chats.ts";
import { measureCapacity } from "../backend/ports/capacity.ts";
import type { FakeGemini } from "../fixtures/fake-gemini.ts";
import { chatStack, type ChatStack } from "./support/chat-stack.ts";
import { as, ownerWithReadyPersona, sseEvents, streamingAs, type SagaStack } from "./support/saga.ts";

let gemini: FakeGemini;
let stack: SagaStack;
let suite: ChatStack;
let owner: { uid: string; personaId: string };
const BUDGET = 100_000;

before(async () => {
  suite = await chatStack({
    CHAT_DAILY_TOKEN_BUDGET: String(BUDGET),
    CHAT_PROGRESS_INTERVAL_MS: "100",
    CHAT_RESUME_POLL_MS: "50",
  });
  ({ gemini, stack, owner } = suite);
});
after(async () => {
  await suite.close();
});

type Event = { event: string; id: string | undefined; data: any };
type MessageView = {
  message_id: string;
  role: string;
  text: string;
  status: string;
  alternate?: number;
  alternates?: number;
  edited?: true;
};

const url = (path: string) => `${stack.target.url}${path}`;
const json = (uid = owner.uid) => ({ ...as(uid), accept: "application/json" });

async function newChat(uid = owner.uid): Promise<string> {
  return ((await (await fetch(url("/v1/chats"), { method: "POST", headers: as(uid), body: "{}" })).json()) as { chat_id: string }).chat_id;
}

/** One whole turn (JSON): the reply the model writes as `chunks`. */
async function turn(chatId: string, text: string, chunks: string[], uid = owner.uid) {
  gemini.enqueue({ kind: "text", chunks, delayMs: 0 });
  const res = await fetch(url(`/v1/chats/${chatId}/messages`), { method: "POST", headers: json(uid), body: JSON.stringify({ text }) });
  assert.equal(res.status, 200);
  return (await res.json()) as { user_message_id: string; reply: MessageView };
}

const regenerate = (chatId: string, replyId: string, headers = json(), signal?: AbortSignal) =>
  fetch(url(`/v1/chats/${chatId}/messages/${replyId}/regenerate`), { method: "POST", headers, signal });
const edit = (chatId: string, messageId: string, text: string, headers: Record<string, string> = json()) =>
  fetch(url(`/v1/chats/${chatId}/messages/${messageId}`), { method: "PUT", headers, body: JSON.stringify({ text }) });
const select = (chatId: string, replyId: string, alternate: number) =>
  fetch(url(`/v1/chats/${chatId}/messages/${replyId}/alternate`), { method: "PUT", headers: json(), body: JSON.stringify({ alternate }) });
const history = async (chatId: string) =>
  ((await (await fetch(url(`/v1/chats/${chatId}/messages`), { headers: as(owner.uid) })).json()) as { messages: MessageView[] }).messages;
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

/** The text of the last user turn the model was sent. */
const lastAsked = () =>
  gemini.requests
    .filter((r) => r.method === "streamGenerateContent")
    .at(-1)!
    .body.contents!.at(-1)!.parts![0]!.text;

/** An SSE response read as it arrives: its events so far, a wait for a count of tokens, its end. */
function reading(res: Response) {
  const events: Event[] = [];
  let seen = () => {};
  const parser = createParser({
    onEvent: (e) => {
      events.push({ event: e.event ?? "message", id: e.id, data: JSON.parse(e.data) });
      seen();
    },
  });
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (error) {
      if ((error as Error).name !== "AbortError") throw error;
    }
    return events;
  })();
  const tokens = () => events.filter((e) => e.event === "token");
  return {
    events,
    ended,
    tokens,
    untilTokens: (n: number) =>
      new Promise<void>((resolve, reject) => {
        seen = () => tokens().length >= n && resolve();
        seen();
        void ended.then(() => (tokens().length >= n ? resolve() : reject(new Error(`ended first: ${JSON.stringify(events)}`))));
      }),
  };
}

describe("regenerate and alternates", () => {
  test("regenerate makes a second alternate from the same question; history shows it with the count; the first can be chosen again", async () => {
    // Prepare
    const chatId = await newChat();
    const first = await turn(chatId, "Tell me a fact", ["Cats", " purr."]);

    gemini.enqueue({ kind: "text", chunks: ["Dogs", " bark."], delayMs: 0 });

    // Act
    const again = await regenerate(chatId, first.reply.message_id);
    const regenerated = (await again.json()) as { user_message_id: string; reply: MessageView };
    const asked = lastAsked();
    const shown = await history(chatId);
    const chosen = await select(chatId, first.reply.message_id, 0);
    const afterChoice = await history(chatId);
    const missing = await select(chatId, first.reply.message_id, 2);
    const exported = (await (await fetch(url("/v1/me/export"), { headers: as(owner.uid) })).json()) as {
      chats: { chat_id: string; messages: { message_id: string; alternate?: number; alternates?: { text: string }[] }[] }[];
    };

    // Assess
    assert.equal(again.status, 200);
    assert.equal(regenerated.user_message_id, first.user_message_id);
    assert.equal(regenerated.reply.message_id, first.reply.message_id, "an alternate of the same reply");
    assert.deepEqual([regenerated.reply.alternate, regenerated.reply.alternates, regenerated.reply.status], [1, 2, "complete"]);
    assert.equal(asked, "Tell me a fact", "the model was asked the same question, without the old answer after it");
    assert.equal(shown.length, 3, "greeting, question, one reply: alternates are not extra messages");
    assert.deepEqual(
      [shown.at(-1)!.text, shown.at(-1)!.alternate, shown.at(-1)!.alternates],
      [regenerated.reply.text, 1, 2],
      "history shows the new alternate and the count",
    );
    assert.equal(regenerated.reply.text, "Dogs bark.");
    assert.equal(chosen.status, 200);
    assert.deepEqual([afterChoice.at(-1)!.text, afterChoice.at(-1)!.alternate, afterChoice.at(-1)!.alternates], ["Cats purr.", 0, 2]);
    assert.equal(missing.status, 404);
    const inExport = exported.chats.find((c) => c.chat_id === chatId)!.messages.at(-1)!;
    assert.deepEqual(
      [inExport.alternate, inExport.alternates?.map((a) => a.text)],
      [0, ["Cats purr.", "Dogs bark."]],
      "the export carries every alternate",
    );
  });

  test("a reply keeps at most 25 alternates: the next regenerate is 409 too_many_alternates", async () => {
    // Prepare: a reply regenerated until it has 25 alternates.
    const chatId = await newChat();
    const first = await turn(chatId, "Again and again", ["Once."]);
    for (let n = 1; n < 25; n++) {
      gemini.enqueue({ kind: "text", chunks: [`Take ${n}.`], delayMs: 0 });
      assert.equal((await regenerate(chatId, first.reply.message_id)).status, 200);
    }

    // Act
    const refused = await regenerate(chatId, first.reply.message_id);

    // Assess
    assert.deepEqual([refused.status, await codeOf(refused)], [409, "too_many_alternates"]);
    const reply = (await history(chatId)).at(-1)!;
    assert.deepEqual([reply.text, reply.alternate, reply.alternates], ["Take 24.", 24, 25]);
  });

  test("a regenerated alternate streams like a reply, its ids prefixed 1.; a client that left resumes it with Last-Event-ID 1.5", async () => {
    // Prepare: a first answer, then a regenerate whose model writes one letter per release.
    const chatId = await newChat();
    const first = await turn(chatId, "Spell something", ["No."]);
    const letters = "abcdefghij".split("");
    gemini.enqueue({ kind: "text", chunks: letters, stepwise: true });
    const calls = gemini.requests.filter((r) => r.method === "streamGenerateContent").length;
    const leaving = new AbortController();
    const tab = reading(await regenerate(chatId, first.reply.message_id, streamingAs(owner.uid), leaving.signal));
    const [model] = (await gemini.arrived(calls + 1, (r) => r.method === "streamGenerateContent")).slice(-1);
    for (let i = 1; i < 5; i++) model!.release();
    await tab.untilTokens(5);
    leaving.abort();
    await tab.ended;

    // Act: the alternate goes on without its client; another connection resumes after 1.5.
    const resumed = reading(
      await fetch(url(`/v1/chats/${chatId}/messages/${first.reply.message_id}/stream`), {
        headers: { ...streamingAs(owner.uid), "last-event-id": "1.5" },
      }),
    );
    for (let i = 5; i < letters.length; i++) model!.release();
    await resumed.ended;

    // Assess
    assert.deepEqual(tab.events[0], {
      event: "message",
      id: "1.0",
      data: { user_message_id: first.user_message_id, reply_id: first.reply.message_id, alternate: 1 },
    });
    assert.deepEqual(
      tab.tokens().map((e) => e.id),
      ["1.1", "1.2", "1.3", "1.4", "1.5"],
    );
    const rest = resumed.tokens().map((e) => e.data.text as string);
    assert.equal(rest.join(""), letters.slice(5).join(""), "the letters after the 5th, each once");
    assert.deepEqual(
      resumed.events.slice(-2).map((e) => [e.event, e.id]),
      [
        ["stored", "1.11"],
        ["done", "1.12"],
      ],
    );
    const reply = (await history(chatId)).at(-1)!;
    assert.deepEqual([reply.text, reply.status, reply.alternate, reply.alternates], [letters.join(""), "complete", 1, 2]);
  });

  test("409 not_last_turn for anything but the last turn, 409 reply_in_progress while a reply generates", async () => {
    // Prepare: two turns, the second reply held by the model.
    const chatId = await newChat();
    const greeting = (await history(chatId))[0]!;
    const earlier = await turn(chatId, "First question", ["One."]);
    gemini.enqueue({ kind: "text", chunks: ["Two", "."], heldBeforeChunk: 1 });
    const calls = gemini.requests.filter((r) => r.method === "streamGenerateContent").length;
    const live = reading(
      await fetch(url(`/v1/chats/${chatId}/messages`), {
        method: "POST",
        headers: streamingAs(owner.uid),
        body: JSON.stringify({ text: "Second question" }),
      }),
    );
    const [model] = (await gemini.arrived(calls + 1, (r) => r.method === "streamGenerateContent")).slice(-1);
    await live.untilTokens(1);
    const generating = live.events[0]!.data as { user_message_id: string; reply_id: string };

    // Act
    const whileGenerating = await regenerate(chatId, generating.reply_id);
    const editWhileGenerating = await edit(chatId, generating.user_message_id, "Changed");
    const earlierReply = await regenerate(chatId, earlier.reply.message_id);
    const earlierEdit = await edit(chatId, earlier.user_message_id, "Changed");
    const userMessage = await regenerate(chatId, earlier.user_message_id);
    const ofGreeting = await regenerate(chatId, greeting.message_id);
    model!.release();
    await live.ended;
    const afterwards = await regenerate(chatId, earlier.reply.message_id);

    // Assess
    assert.deepEqual([whileGenerating.status, await codeOf(whileGenerating)], [409, "reply_in_progress"]);
    assert.deepEqual([editWhileGenerating.status, await codeOf(editWhileGenerating)], [409, "reply_in_progress"]);
    for (const res of [earlierReply, earlierEdit, userMessage, ofGreeting, afterwards])
      assert.deepEqual([res.status, await codeOf(res)], [409, "not_last_turn"]);
    const messages = await history(chatId);
    assert.deepEqual(
      messages.map((m) => m.text),
      [greeting.text, "First question", "One.", "Second question", "Two."],
      "nothing changed",
    );
  });

  test("two tabs regenerate at once: exactly one gets the new alternate, the other 409", async () => {
    // Prepare
    const chatId = await newChat();
    const first = await turn(chatId, "Pick a colour", ["Blue."]);
    gemini.enqueue({ kind: "text", chunks: ["Green."], held: true });
    const calls = gemini.requests.filter((r) => r.method === "streamGenerateContent").length;

    // Act: both at once. The model holds the winner's answer, so the first answer is the loser's.
    const tabs = [regenerate(chatId, first.reply.message_id), regenerate(chatId, first.reply.message_id)];
    const loser = await Promise.race(tabs);
    const [model] = (await gemini.arrived(calls + 1, (r) => r.method === "streamGenerateContent")).slice(-1);
    model!.release();
    const responses = await Promise.all(tabs);

    // Assess
    assert.deepEqual([loser.status, await codeOf(loser)], [409, "reply_in_progress"]);
    assert.deepEqual(responses.map((r) => r.status).sort(), [200, 409], "exactly one won");
    const reply = (await history(chatId)).at(-1)!;
    assert.deepEqual([reply.text, reply.alternate, reply.alternates], ["Green.", 1, 2], "one new alternate, not two");
    assert.equal(gemini.requests.filter((r) => r.method === "streamGenerateContent").length, calls + 1, "one model call");
  });

  test("regenerate counts against the chat limits: once today's token budget is used up, 429", async () => {
    // Prepare: a second owner whose first reply uses the whole day's budget.
    const spender = await ownerWithReadyPersona(stack.target);
    const chatId = await newChat(spender.uid);
    gemini.enqueue({ kind: "text", chunks: ["Expensive."], usage: { input: 10, output: BUDGET } });
    const first = await fetch(url(`/v1/chats/${chatId}/messages`), {
      method: "POST",
      headers: json(spender.uid),
      body: JSON.stringify({ text: "Write a novel" }),
    });
    const replyId = ((await first.json()) as { reply: MessageView }).reply.message_id;

    // Act
    const again = await regenerate(chatId, replyId, json(spender.uid));

    // Assess
    assert.equal(again.status, 429);
    assert.equal(await codeOf(again), "rate_limited");
    const page = (await (await fetch(url(`/v1/chats/${chatId}/messages`), { headers: as(spender.uid) })).json()) as {
      messages: MessageView[];
    };
    assert.equal(page.messages.at(-1)!.alternates, undefined, "no alternate was begun");
  });
});

/** A reply whose client stays connected to the end, as the stream handler listens to it. */
async function connected(run: ReplyRun): Promise<void> {
  const listener = run.attach();
  let delivered = 0;
  for await (const event of listener.events) if (event.type === "token") delivered = event.end;
  listener.leave(delivered);
  await run.finished;
}

describe("the write budget", () => {
  test("a connected regenerate sends no more DynamoDB writes than a connected send", async () => {
    // Prepare
    const { chats } = stack.domains;
    const chat = await chats.get(owner.uid, await newChat());
    gemini.enqueue(
      { kind: "text", chunks: ["One", " two", " three."], delayMs: 0 },
      { kind: "text", chunks: ["Four", " five", " six."], delayMs: 0 },
    );

    // Act
    let replyId = "";
    const sent = await measureCapacity(async () => {
      const turn = await chats.prepareTurn(chat, "Count for me");
      replyId = turn.reply.messageId;
      await connected(chats.startReply(turn));
    });
    const fresh = await chats.get(owner.uid, chat.chatId);
    const regenerated = await measureCapacity(async () => connected(chats.startReply(await chats.regenerate(fresh, replyId))));

    // Assess
    assert.ok(sent.capacity.writes > 0);
    assert.ok(
      regenerated.capacity.writes <= sent.capacity.writes,
      `regenerate: ${regenerated.capacity.writes} writes, send: ${sent.capacity.writes}`,
    );
    assert.equal((await history(chat.chatId)).at(-1)!.alternates, 2);
  });
});

describe("edit the last user message", () => {
  test("its text is replaced and a new reply streams; earlier replies and messages stay as they were", async () => {
    // Prepare
    const chatId = await newChat();
    await turn(chatId, "Hello", ["Hi."]);
    const last = await turn(chatId, "What is 2+2?", ["Five."]);
    gemini.enqueue({ kind: "text", chunks: ["Six", "."], delayMs: 0 });

    // Act
    const events = await sseEvents(await edit(chatId, last.user_message_id, "  What is 3+3?  ", streamingAs(owner.uid)));
    const asked = lastAsked();
    const empty = await edit(chatId, last.user_message_id, "   ");

    // Assess
    assert.deepEqual(
      events.map((e) => e.event),
      ["message", "token", "token", "stored", "done"],
    );
    assert.equal(events[0]!.data.user_message_id, last.user_message_id, "the same message, edited");
    assert.notEqual(events[0]!.data.reply_id, last.reply.message_id, "a new reply");
    assert.equal(asked, "What is 3+3?");
    const messages = await history(chatId);
    assert.deepEqual(
      messages.slice(1).map((m) => [m.role, m.text]),
      [
        ["user", "Hello"],
        ["model", "Hi."],
        ["user", "What is 3+3?"],
        ["model", "Six."],
      ],
      "the old reply is gone, the edited message keeps its place",
    );
    assert.equal(messages.at(-2)!.edited, true);
    assert.equal(messages.at(-1)!.message_id, events[0]!.data.reply_id);
    assert.deepEqual([empty.status, await codeOf(empty)], [400, "empty_message"]);
  });
});
