/**
 * GeminiLLM.streamText through the real `@google/genai` SDK against the fake Gemini server
 * (test/support/fake-gemini.ts): incremental delivery, usage, abort reaching the server,
 * retries before the first chunk only, cuts, stalls and refusals. Backoff sleeps are
 * injected; timeouts run on mock timers; the order of chunks is forced by the fake server's
 * gates, never by delays.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, test } from "node:test";
import { GeminiLLM, type GeminiOptions } from "../backend/ai/gemini.ts";
import { ModelRefusedError, ModelUnavailableError } from "../backend/ai/ports.ts";
import { startFakeGemini, type FakeGemini } from "../fixtures/fake-gemini.ts";
import { chat, collect } from "../fixtures/model-fixtures.ts";

// A broken abort or timeout shows up as a wait that never ends: fail it instead of hanging.
const HANG = 10_000;
const KEY = `test-key-${randomBytes(8).toString("hex")}`;

let fake: FakeGemini;
beforeEach(async () => {
  fake = await startFakeGemini();
});
afterEach(async () => {
  await fake.close();
});

function gemini(overrides: Partial<GeminiOptions> = {}) {
  const sleeps: number[] = [];
  const quiet = { info: () => {}, warn: () => {} };
  const llm = new GeminiLLM({
    apiKey: KEY,
    baseUrl: fake.url,
    model: "gemini-test-text",
    log: quiet,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    ...overrides,
  });
  return { llm, sleeps };
}

describe("streamText", { timeout: HANG }, () => {
  test("chunks arrive in order, each before the server has written the next", async () => {
    // Prepare: the server writes a chunk only after the test released it, so a client that
    // waited for more than one chunk (or for the end) would never see the first.
    const { llm } = gemini();
    fake.enqueue({ kind: "text", chunks: ["Hel", "lo", " there"], stepwise: true });
    const chunks = llm.streamText(chat)[Symbol.asyncIterator]();
    // Act + Assess
    for (const [i, expected] of ["Hel", "lo", " there"].entries()) {
      if (i > 0) fake.requests[0]!.release();
      assert.deepEqual(await chunks.next(), { done: false, value: expected });
      assert.equal(fake.requests[0]!.sentAt.length, i + 1, `chunk ${i + 1} reached the caller before the server wrote chunk ${i + 2}`);
    }
    assert.deepEqual(await chunks.next(), { done: true, value: undefined });
  });

  test("text reaches the caller while the response is still open", async () => {
    // Prepare: the server never finishes this response, so only incremental delivery can pass.
    const { llm } = gemini();
    fake.enqueue({ kind: "text", chunks: ["still", " open"], holdOpen: true });
    // Act
    const texts: string[] = [];
    for await (const text of llm.streamText(chat)) {
      texts.push(text);
      if (texts.length === 2) break;
    }
    // Assess
    assert.deepEqual(texts, ["still", " open"]);
    assert.equal(await fake.requests[0]!.settled, "aborted", "leaving the loop early aborted the HTTP call");
  });

  test("the request carries the system prompt, the turns and the model, on v1beta with alt=sse", async () => {
    // Prepare
    const { llm } = gemini();
    // Act
    await collect(
      llm.streamText({
        ...chat,
        turns: [...chat.turns, { role: "model", text: "Lovely." }, { role: "user", text: "Tell me more." }],
        maxOutputTokens: 64,
      }),
    );
    // Assess
    const [request] = fake.requests;
    assert.equal(request!.method, "streamGenerateContent");
    assert.equal(request!.apiVersion, "v1beta");
    assert.equal(request!.model, "gemini-test-text");
    assert.equal(request!.query.alt, "sse");
    assert.deepEqual(request!.body.systemInstruction?.parts, [{ text: chat.system }]);
    assert.deepEqual(
      request!.body.contents?.map((c) => [c.role, c.parts?.[0]?.text]),
      [
        ["user", "How was your day?"],
        ["model", "Lovely."],
        ["user", "Tell me more."],
      ],
    );
    assert.equal(request!.body.generationConfig?.maxOutputTokens, 64);
  });

  test("usage comes from the last chunk's usageMetadata", async () => {
    // Prepare
    const { llm } = gemini();
    fake.enqueue({ kind: "text", chunks: ["a", "b", "c"], usage: { input: 12, output: 3 } });
    // Act
    const stream = llm.streamText(chat);
    await collect(stream);
    // Assess
    assert.deepEqual(await stream.usage(), { inputTokens: 12, outputTokens: 3 });
  });

  test("aborting the caller's signal aborts the HTTP call: the server sees the client leave", async () => {
    // Prepare
    const { llm } = gemini();
    fake.enqueue({ kind: "text", chunks: ["one", " two"], holdOpen: true });
    const controller = new AbortController();
    const seen: string[] = [];
    // Act
    await assert.rejects(
      async () => {
        for await (const text of llm.streamText({ ...chat, signal: controller.signal })) {
          seen.push(text);
          if (seen.length === 1) controller.abort();
        }
      },
      { name: "AbortError" },
    );
    // Assess
    await fake.requests[0]!.aborted;
    assert.deepEqual(seen, ["one"]);
    assert.equal(fake.requests.length, 1, "an aborted call is never retried");
  });

  test("a 503 before the first chunk is retried; the reply then streams", async () => {
    // Prepare
    const { llm, sleeps } = gemini();
    fake.enqueue({ kind: "error", status: 503 }, { kind: "text", chunks: ["after", " retry"] });
    // Act
    const texts = await collect(llm.streamText(chat));
    // Assess
    assert.deepEqual(texts, ["after", " retry"]);
    assert.equal(fake.requests.length, 2);
    assert.deepEqual(sleeps, [250], "full jitter: random 0.5 × base 500 ms");
  });

  test("a cut after the first chunk surfaces from the loop and is not retried", async () => {
    // Prepare
    const { llm } = gemini();
    fake.enqueue({ kind: "fail-mid-stream", chunks: ["partial", " text"] });
    const seen: string[] = [];
    // Act
    await assert.rejects(
      async () => {
        for await (const text of llm.streamText(chat)) seen.push(text);
      },
      (error: unknown) => error instanceof ModelUnavailableError && error.retryable,
    );
    // Assess
    assert.deepEqual(seen, ["partial", " text"]);
    assert.equal(fake.requests.length, 1);
    assert.equal(await fake.requests[0]!.settled, "cut");
  });

  test("a stream that ends without a finish reason is an error, not a quiet short reply", async () => {
    const { llm } = gemini();
    fake.enqueue({ kind: "text", chunks: ["half"], finishReason: "" });
    await assert.rejects(collect(llm.streamText(chat)), ModelUnavailableError);
  });

  test("finishReason SAFETY is a refusal", async () => {
    const { llm } = gemini();
    fake.enqueue({ kind: "text", chunks: [""], finishReason: "SAFETY" });
    await assert.rejects(
      collect(llm.streamText(chat)),
      (error: unknown) => error instanceof ModelRefusedError && error.reason === "SAFETY",
    );
  });

  test("a stream that goes quiet times out; the reader's own pace is not counted", async (t) => {
    // Prepare: the watchdog runs on mock time, the HTTP exchange on real I/O. The server
    // sends "first", waits for release() to send "second", then holds the response open.
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const { llm } = gemini({ timeoutMs: 1_000 });
    fake.enqueue({ kind: "text", chunks: ["first", "second"], heldBeforeChunk: 1, holdOpen: true });
    const chunks = llm.streamText(chat)[Symbol.asyncIterator]();
    assert.deepEqual(await chunks.next(), { done: false, value: "first" });
    // Act + Assess: a reader slower than the timeout does not cut the stream
    t.mock.timers.tick(5_000);
    fake.requests[0]!.release();
    assert.deepEqual(await chunks.next(), { done: false, value: "second" });
    // Act + Assess: a model quiet for the timeout does
    const third = chunks.next();
    t.mock.timers.tick(1_000);
    await assert.rejects(
      third,
      (error: unknown) => error instanceof ModelUnavailableError && /Timed out after 1000 ms/.test(error.message),
    );
    assert.equal(await fake.requests[0]!.settled, "aborted");
    assert.equal(fake.requests.length, 1, "no retry once text has been handed out");
  });

  test("no first chunk within the timeout: retried, then unavailable; each attempt aborted", async (t) => {
    // Prepare: "hang" never answers; the timeout runs on mock time, so an attempt times out
    // only once its request has reached the server and the test moves the clock.
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const { llm, sleeps } = gemini({ timeoutMs: 1_000, retry: { attempts: 2 } });
    fake.enqueue({ kind: "hang" }, { kind: "hang" });
    // Act
    const outcome = collect(llm.streamText(chat));
    outcome.catch(() => {}); // assessed below, after both attempts
    for (const attempt of [1, 2]) {
      await fake.arrived(attempt);
      t.mock.timers.tick(1_000);
      await fake.requests[attempt - 1]!.aborted;
    }
    // Assess: two attempts, one backoff between them, and then the caller hears why.
    await assert.rejects(
      outcome,
      (error: unknown) => error instanceof ModelUnavailableError && /Timed out after 1000 ms/.test(error.message),
    );
    assert.equal(fake.requests.length, 2);
    assert.equal(sleeps.length, 1);
  });
});
