/**
 * What the chat model is actually sent, read off the requests the real @google/genai SDK
 * made to the fake Gemini server: the persona's system prompt and the history in order; with
 * a small context budget, older turns folded into a running summary, each message sent once;
 * and one reply at a time per chat.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createProviders } from "../backend/ai/providers.ts";
import { createApi } from "../backend/api/index.ts";
import { promptText, startFakeGemini, type Behaviour, type FakeGemini, type RecordedRequest } from "../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../fixtures/model-fixtures.ts";
import { as, ownerWithReadyPersona, quiet, sagaStack, sseEvents, streamingAs, type SagaStack } from "./support/saga.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

/** The summary call is a JSON call whose instruction is about keeping a running summary. */
const isSummaryCall = (r: RecordedRequest) => r.method === "generateContent" && /running summary/.test(promptText(r));
const isReplyCall = (r: RecordedRequest) => r.method === "streamGenerateContent";

let gemini: FakeGemini;
let stack: SagaStack;
let owner: { uid: string; personaId: string };
let systemPrompt: string;
let replies = 0;
/** What each summary call was answered. */
const summaries = new Map<RecordedRequest, string>();

before(async () => {
  gemini = await startFakeGemini({
    apiKey: "test-key",
    fallback: (r): Behaviour => {
      if (r.model.includes("image")) return { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png" };
      // Replies and summaries are numbered, so each text names the one call that made it.
      if (isReplyCall(r)) return { kind: "text", chunks: [`Reply ${++replies}, `, "told in a few plain words."] };
      if (isSummaryCall(r)) {
        summaries.set(r, `Running summary number ${summaries.size + 1}.`);
        return { kind: "json", value: { summary: summaries.get(r) } };
      }
      return { kind: "json", value: PERSONA_CARD };
    },
  });
  stack = await sagaStack({ GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url, CHAT_MESSAGES_PER_MINUTE: "1000" });
  owner = await ownerWithReadyPersona(stack.target);
  systemPrompt = (await stack.domains.personas.get(owner.uid))!.current!.systemPrompt;
});
after(async () => {
  await stack.close();
  await gemini.close();
});

async function newChat(target: Target): Promise<string> {
  const res = await fetch(`${target.url}/v1/chats`, { method: "POST", headers: as(owner.uid), body: "{}" });
  return ((await res.json()) as { chat_id: string }).chat_id;
}

const send = (target: Target, chatId: string, text: string) =>
  fetch(`${target.url}/v1/chats/${chatId}/messages`, { method: "POST", headers: streamingAs(owner.uid), body: JSON.stringify({ text }) });

/** One whole turn; returns the model calls it made (a summary call, if any, and the reply). */
async function turn(target: Target, chatId: string, text: string): Promise<RecordedRequest[]> {
  const seen = gemini.requests.length;
  const events = await sseEvents(await send(target, chatId, text));
  assert.deepEqual(
    events.slice(-2).map((e) => e.event),
    ["stored", "done"],
    text,
  );
  return gemini.requests.slice(seen);
}

async function history(chatId: string): Promise<{ role: string; text: string; status: string }[]> {
  const res = await fetch(`${stack.target.url}/v1/chats/${chatId}/messages?limit=100`, { headers: as(owner.uid) });
  // The persona's greeting opens every chat; these tests are about the turns after it.
  const { messages } = (await res.json()) as { messages: { role: string; text: string; status: string; greeting?: true }[] };
  return messages.filter((m) => !m.greeting);
}

const systemOf = (r: RecordedRequest) => (r.body.systemInstruction?.parts ?? []).map((p) => p.text).join("");
const contentsOf = (r: RecordedRequest) => (r.body.contents ?? []).map((c) => [c.role, (c.parts ?? []).map((p) => p.text).join("")]);
/** The messages a summary call was asked to fold in, as the text of each. */
function foldedBy(r: RecordedRequest): string[] {
  const transcript = /New turns to fold in:\n([\s\S]*?)\n\nAnswer with JSON/.exec(promptText(r))?.[1];
  assert.ok(transcript, "the summary call lists the turns to fold");
  return transcript.split("\n").map((line) => line.replace(/^(User|Persona): /, ""));
}

describe("what the chat model is sent", () => {
  test("the persona's system prompt, and the history in order ending with the new message", async () => {
    // Prepare
    const chatId = await newChat(stack.target);
    await turn(stack.target, chatId, "What did you do today?");
    await turn(stack.target, chatId, "And yesterday?");
    // Act
    const calls = await turn(stack.target, chatId, "Which day was better?");
    // Assess: everything fits the default budget, so nothing is summarised.
    const reply = calls.filter(isReplyCall);
    assert.equal(reply.length, 1);
    assert.equal(calls.filter(isSummaryCall).length, 0);
    assert.equal(systemOf(reply[0]!), systemPrompt);
    const [u1, r1, u2, r2] = await history(chatId);
    assert.deepEqual(contentsOf(reply[0]!), [
      ["user", u1!.text],
      ["model", r1!.text],
      ["user", u2!.text],
      ["model", r2!.text],
      ["user", "Which day was better?"],
    ]);
    assert.deepEqual([u1!.text, u2!.text], ["What did you do today?", "And yesterday?"]);
    assert.match(r1!.text, /^Reply \d+, told in a few plain words\.$/);
  });

  test("with a small budget, older turns are folded into the summary, and each message is sent once", async () => {
    // Prepare: the same table behind an app whose budget holds about two messages
    // (each ~50 characters ≈ 17 estimated tokens).
    const env = { ...process.env, GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url };
    const small = await nodeTarget(
      createApi({ ...stack.config, chatContextTokens: 40 }, { logger: quiet, ports: createProviders(env, quiet) }),
    );
    try {
      const chatId = await newChat(small);
      const asked = [1, 2, 3, 4].map((n) => `Question ${n}: tell me more about the mountains there?`);
      // Act
      const calls: RecordedRequest[][] = [];
      for (const text of asked) calls.push(await turn(small, chatId, text));
      // Assess
      const messages = (await history(chatId)).map((m) => m.text);
      assert.equal(messages.length, 8);
      const folded: string[] = [];
      let summary: string | undefined;
      for (const [k, turnCalls] of calls.entries()) {
        const label = `turn ${k + 1}`;
        const [fold, ...moreFolds] = turnCalls.filter(isSummaryCall);
        const [reply, ...moreReplies] = turnCalls.filter(isReplyCall);
        assert.ok(reply && moreFolds.length === 0 && moreReplies.length === 0, `${label}: at most one summary call, and one reply call`);
        if (fold) {
          // The running summary so far goes in with the turns to add to it.
          assert.ok(promptText(fold).includes(`Summary so far:\n${summary ?? "(none)"}\n`), `${label} extends the summary`);
          folded.push(...foldedBy(fold));
          summary = summaries.get(fold);
        }
        // Everything before this turn's reply was folded (now or earlier) or is in the
        // window, in order, and nothing is both: never dropped, never sent twice.
        const window = contentsOf(reply).map(([, text]) => text);
        assert.deepEqual([...folded, ...window], messages.slice(0, 2 * k + 1), label);
        assert.equal(window.at(-1), asked[k]);
        // The reply call carries the persona's prompt and, once there is one, the summary.
        assert.ok(systemOf(reply).startsWith(systemPrompt), label);
        if (summary) assert.ok(systemOf(reply).endsWith(summary), `${label} carries the summary`);
        else assert.equal(systemOf(reply), systemPrompt, label);
      }
      assert.ok(folded.length >= 4, `older turns were folded: ${folded.length}`);
      assert.equal(new Set(folded).size, folded.length, "no message is folded twice");
    } finally {
      await small.close();
    }
  });
});

describe("one reply at a time per chat", () => {
  test("two concurrent sends to one chat: exactly one streams, the other is 409 reply_in_progress", async () => {
    // Prepare: the reply that wins is held at the model, so the lock is surely taken while
    // the other send arrives.
    const chatId = await newChat(stack.target);
    gemini.enqueue({ kind: "text", chunks: ["Only ", "one."], held: true });
    const seen = gemini.requests.length;
    // Act
    const responses = await Promise.all([send(stack.target, chatId, "first?"), send(stack.target, chatId, "second?")]);
    (await gemini.arrived(seen + 1))[seen]!.release();
    // Assess
    assert.deepEqual(responses.map((r) => r.status).sort(), [200, 409]);
    const refused = responses.find((r) => r.status === 409)!;
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "reply_in_progress");
    const events = await sseEvents(responses.find((r) => r.status === 200)!);
    assert.deepEqual(
      events.map((e) => e.event),
      ["message", "token", "token", "stored", "done"],
    );
    const stored = await history(chatId);
    assert.equal(stored.length, 2, "one user message and one reply");
    assert.deepEqual([stored[1]!.text, stored[1]!.status], ["Only one.", "complete"]);
    assert.equal(gemini.requests.slice(seen).filter(isReplyCall).length, 1);
  });
});
