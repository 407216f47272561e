/**
 * The Gemini adapters through the real `@google/genai` SDK against the fake Gemini server
 * (test/support/fake-gemini.ts): JSON with a schema, retries, the circuit breaker, images,
 * the API key's whereabouts, and provider selection. Streaming is in
 * ai-gemini-stream.test.ts. Backoff sleeps and the breaker's clock are injected.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, test } from "node:test";
import { z } from "zod";
import { GeminiImageModel, GeminiLLM, type GeminiOptions } from "../backend/ai/gemini.ts";
import { OfflineImageModel, OfflineLLM } from "../backend/ai/offline.ts";
import { InvalidModelOutputError, ModelRefusedError, ModelUnavailableError, type LLM } from "../backend/ai/ports.ts";
import { createProviders } from "../backend/ai/providers.ts";
import { promptText, startFakeGemini, type FakeGemini } from "../fixtures/fake-gemini.ts";
import { chat, collect } from "../fixtures/model-fixtures.ts";

// A broken abort or timeout shows up as a wait that never ends: fail it instead of hanging.
const HANG = 10_000;
const KEY = `test-key-${randomBytes(8).toString("hex")}`;
const Card = z.object({ name: z.string().min(1), traits: z.array(z.string()).min(1) });
const validCard = { name: "Mika", traits: ["curious", "warm"] };

let fake: FakeGemini;
beforeEach(async () => {
  fake = await startFakeGemini();
});
afterEach(async () => {
  await fake.close();
});

function gemini(overrides: Partial<GeminiOptions> = {}) {
  const logs: { message: string; attributes: Record<string, unknown> }[] = [];
  const sleeps: number[] = [];
  const record = (message: string, attributes: Record<string, unknown>) => void logs.push({ message, attributes });
  const options: GeminiOptions = {
    apiKey: KEY,
    baseUrl: fake.url,
    model: "gemini-test-text",
    log: { info: record, warn: record },
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    ...overrides,
  };
  return { llm: new GeminiLLM(options), images: new GeminiImageModel({ ...options, model: "gemini-test-image" }), logs, sleeps };
}

describe("generateJson", { timeout: HANG }, () => {
  test("valid JSON is returned, asked for with the schema", async () => {
    // Prepare
    const { llm } = gemini();
    fake.enqueue({ kind: "json", value: validCard });
    // Act
    const card = await llm.generateJson({ system: "Write a card.", prompt: "Data: ...", schema: Card });
    // Assess
    assert.deepEqual(card, validCard);
    const config = fake.requests[0]!.body.generationConfig!;
    assert.equal(fake.requests[0]!.method, "generateContent");
    assert.equal(config.responseMimeType, "application/json");
    assert.deepEqual(config.responseJsonSchema, JSON.parse(JSON.stringify(z.toJSONSchema(Card, { io: "input" }))));
  });

  test("non-JSON and schema-invalid output are rejected and asked again", async () => {
    // Prepare
    const { llm, logs } = gemini();
    fake.enqueue(
      { kind: "raw", text: "Sure! Here is your card: {" },
      { kind: "json", value: { name: "" } },
      { kind: "json", value: validCard },
    );
    // Act
    const card = await llm.generateJson({ system: "Write a card.", prompt: "Data: ...", schema: Card });
    // Assess
    assert.deepEqual(card, validCard);
    assert.equal(fake.requests.length, 3);
    assert.match(promptText(fake.requests[1]!), /rejected \(the reply was not JSON\)/);
    assert.match(promptText(fake.requests[2]!), /rejected \(name: .*traits: /);
    assert.equal(logs.filter((l) => l.message === "Model output rejected").length, 2);
  });

  test("gives up with InvalidModelOutputError after `attempts`", async () => {
    const { llm } = gemini();
    fake.enqueue({ kind: "raw", text: "nope" }, { kind: "raw", text: "still nope" });
    await assert.rejects(
      llm.generateJson({ system: "s", prompt: "p", schema: Card, attempts: 2 }),
      (error: unknown) => error instanceof InvalidModelOutputError && error.attempts === 2,
    );
    assert.equal(fake.requests.length, 2);
  });

  test("a 429 is retried after the retryDelay the server asked for", async () => {
    // Prepare
    const { llm, sleeps } = gemini();
    fake.enqueue({ kind: "error", status: 429, retryDelaySeconds: 2 }, { kind: "json", value: validCard });
    // Act
    const card = await llm.generateJson({ system: "s", prompt: "p", schema: Card });
    // Assess
    assert.deepEqual(card, validCard);
    assert.deepEqual(sleeps, [2000]);
  });

  test("a persistent 500 ends in ModelUnavailableError after the configured attempts", async () => {
    const { llm, sleeps } = gemini();
    fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: "error" as const, status: 500 })));
    await assert.rejects(
      llm.generateJson({ system: "s", prompt: "p", schema: Card }),
      (error: unknown) => error instanceof ModelUnavailableError && error.retryable && /HTTP 500/.test(error.message),
    );
    assert.equal(fake.requests.length, 3);
    assert.deepEqual(sleeps, [250, 500]);
  });

  test("a blocked prompt is a refusal and is not asked again", async () => {
    const { llm } = gemini();
    fake.enqueue({ kind: "blocked", reason: "PROHIBITED_CONTENT" });
    await assert.rejects(llm.generateJson({ system: "s", prompt: "p", schema: Card }), ModelRefusedError);
    assert.equal(fake.requests.length, 1);
  });
});

describe("circuit breaker", { timeout: HANG }, () => {
  test("opens after consecutive failures, fails fast, and lets one trial through after the cool-down", async () => {
    // Prepare
    let now = 1_000_000;
    const { llm } = gemini({ retry: { attempts: 1 }, breaker: { failureThreshold: 2, coolDownMs: 30_000 }, now: () => now });
    fake.enqueue({ kind: "error", status: 500 }, { kind: "error", status: 503 });
    const ask = () => llm.generateJson({ system: "s", prompt: "p", schema: Card });
    await assert.rejects(ask(), ModelUnavailableError);
    await assert.rejects(ask(), ModelUnavailableError);
    // Act + Assess: open, so the server is not called
    await assert.rejects(ask(), (error: unknown) => error instanceof ModelUnavailableError && error.retryAfterSeconds === 30);
    assert.equal(fake.requests.length, 2);
    // Act + Assess: after the cool-down the trial call reaches the server and closes the circuit
    now += 30_000;
    fake.enqueue({ kind: "json", value: validCard }, { kind: "json", value: validCard });
    assert.deepEqual(await ask(), validCard);
    assert.deepEqual(await ask(), validCard);
    assert.equal(fake.requests.length, 4);
  });
});

describe("safety settings", { timeout: HANG }, () => {
  test("every call sets them explicitly (the API's default is off): JSON, streamed text and images", async () => {
    // Prepare
    const { llm, images } = gemini();
    fake.enqueue(
      { kind: "json", value: validCard },
      { kind: "text", chunks: ["Hi"] },
      { kind: "image", bytes: new Uint8Array([1]), mimeType: "image/png" },
    );

    // Act
    await llm.generateJson({ system: "Write a card.", prompt: "Data: ...", schema: Card });
    await collect(llm.streamText(chat));
    await images.generateImage({ prompt: "A portrait of Mika" });

    // Assess
    const expected = [
      { category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_MEDIUM_AND_ABOVE" },
      { category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_MEDIUM_AND_ABOVE" },
      { category: "HARM_CATEGORY_DANGEROUS_CONTENT", threshold: "BLOCK_MEDIUM_AND_ABOVE" },
      { category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", threshold: "BLOCK_LOW_AND_ABOVE" },
    ];
    assert.deepEqual(
      fake.requests.map((r) => r.method),
      ["generateContent", "streamGenerateContent", "generateContent"],
    );
    for (const request of fake.requests) assert.deepEqual(request.body.safetySettings, expected, request.model);
  });
});

describe("images", { timeout: HANG }, () => {
  test("image bytes round-trip through inlineData", async () => {
    // Prepare
    const { images } = gemini();
    const bytes = new Uint8Array(randomBytes(300));
    fake.enqueue({ kind: "image", bytes, mimeType: "image/webp" });
    // Act
    const image = await images.generateImage({ prompt: "A portrait of Mika" });
    // Assess
    assert.deepEqual(image, { bytes, contentType: "image/webp" });
    assert.equal(fake.requests[0]!.model, "gemini-test-image");
    assert.deepEqual(fake.requests[0]!.body.generationConfig?.responseModalities, ["IMAGE"]);
    assert.equal(images.name, "gemini:gemini-test-image");
  });

  test("a reply without an image is invalid output", async () => {
    const { images } = gemini();
    fake.enqueue({ kind: "raw", text: "I cannot draw today." });
    await assert.rejects(images.generateImage({ prompt: "p" }), InvalidModelOutputError);
  });
});

describe("the API key", { timeout: HANG }, () => {
  test("is sent as x-goog-api-key and never appears in URLs, logs or errors", async () => {
    // Prepare
    const { llm, logs } = gemini();
    fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: "error" as const, status: 500 })));
    // Act
    const error = await llm.generateJson({ system: "s", prompt: "p", schema: Card }).then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e as Error,
    );
    // Assess
    assert.ok(fake.requests.every((request) => request.apiKey === KEY));
    assert.ok(fake.requests.every((request) => !request.path.includes(KEY) && !JSON.stringify(request.query).includes(KEY)));
    assert.ok(logs.length > 0);
    assert.ok(!JSON.stringify(logs).includes(KEY));
    const told = [error.message, error.stack, String(error.cause), (error.cause as Error).stack].join("\n");
    assert.ok(!told.includes(KEY));
  });

  test("a refused key is unavailable but not retryable, and is not retried", async () => {
    // Prepare
    await fake.close();
    fake = await startFakeGemini({ apiKey: "the-right-key" });
    const { llm } = gemini();
    // Act + Assess
    await assert.rejects(
      llm.generateJson({ system: "s", prompt: "p", schema: Card }),
      (error: unknown) => error instanceof ModelUnavailableError && !error.retryable && !error.message.includes(KEY),
    );
    assert.equal(fake.requests.length, 0, "the fake refused it before recording, as Gemini refuses before generating");
  });
});

describe("providers", { timeout: HANG }, () => {
  test("without GEMINI_API_KEY: offline, and says so in the log", () => {
    const logs: unknown[] = [];
    const log = { info: (m: string, a: object) => void logs.push({ m, ...a }), warn: () => {} };
    const { llm, images } = createProviders({}, log);
    assert.ok(llm instanceof OfflineLLM && llm.offline && llm.name === "offline");
    assert.ok(images instanceof OfflineImageModel && images.offline);
    assert.match(JSON.stringify(logs), /"offline":true/);
  });

  test("with GEMINI_API_KEY and GEMINI_BASE_URL: the real SDK talks to that server", async () => {
    // Prepare
    const logs: unknown[] = [];
    const log = { info: (m: string, a: object) => void logs.push({ m, ...a }), warn: () => {} };
    const { llm, images } = createProviders({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.url, GEMINI_TEXT_MODEL: "gemini-x" }, log);
    // Act
    const texts = await collect(llm.streamText(chat));
    // Assess
    assert.equal(texts.join(""), "Hello from the fake Gemini.");
    assert.equal(llm.name, "gemini:gemini-x");
    assert.equal(images.name, "gemini:gemini-2.5-flash-image");
    assert.equal(fake.requests[0]!.model, "gemini-x");
    assert.equal(logs.length, 1);
    assert.ok(!JSON.stringify(logs).includes(KEY));
  });

  test("breaker settings come from the environment; malformed settings are refused", async () => {
    // Prepare: one failure opens the circuit; a 429 asking for 60 s is not retried in-call.
    const quietLog = { info: () => {}, warn: () => {} };
    const env = { GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.url, GEMINI_BREAKER_FAILURES: "1", GEMINI_BREAKER_COOLDOWN_MS: "60000" };
    const { llm } = createProviders(env, quietLog);
    fake.enqueue({ kind: "error", status: 429, retryDelaySeconds: 60 });
    const ask = () => llm.generateJson({ system: "s", prompt: "p", schema: Card });
    // Act + Assess
    await assert.rejects(ask(), (error: unknown) => error instanceof ModelUnavailableError && error.retryAfterSeconds === 60);
    await assert.rejects(ask(), (error: unknown) => error instanceof ModelUnavailableError && /repeated failures/.test(error.message));
    assert.equal(fake.requests.length, 1);
    assert.throws(() => createProviders({ GEMINI_API_KEY: KEY, GEMINI_TIMEOUT_MS: "soon" }, quietLog), /GEMINI_TIMEOUT_MS must be/);
  });

  test("the offline LLM streams a deterministic, labelled reply and writes no JSON", async () => {
    // Prepare
    const llm: LLM = new OfflineLLM();
    // Act
    const first = llm.streamText(chat);
    const tokens = await collect(first);
    const again = await collect(llm.streamText(chat));
    // Assess
    assert.ok(tokens.length > 5);
    assert.deepEqual(again, tokens);
    assert.match(tokens.join(""), /^Mika here \(offline\)\. You said: "How was your day\?"/);
    assert.deepEqual(await first.usage(), { inputTokens: 10, outputTokens: tokens.length });
    await assert.rejects(llm.generateJson({ system: "s", prompt: "p", schema: Card }), {
      name: "ModelUnavailableError",
      message: "offline provider cannot write JSON",
    });
  });
});
