/**
 * Lost, frozen and restarted dependencies under the production app: this file's own DynamoDB
 * Local (on disk, so a restart on the same port keeps the data) and fauxqs, broken with real
 * signals. Every route family answers 503 + Retry-After with the JSON error shape and settles
 * (none hangs); the detail reaches the log only; after the services come back the same
 * requests succeed and everything accepted before is still there. Mid-stream, a chat reply
 * ends with a `service_unavailable` error event and the user's message stays stored.
 *
 * Client-side deadlines (30 s) only turn a hang into a clear failure; nothing here asserts
 * on timing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createParser } from "eventsource-parser";
import { createProviders } from "../backend/ai/providers.ts";
import { createApi } from "../backend/api/index.ts";
import { loadConfig, type Config } from "../backend/config.ts";
import { provision } from "../backend/local/provision.ts";
import { localAwsEnv, type LocalService } from "../backend/local/services.ts";
import { compose, type Domains } from "../backend/compose.ts";
import { localSaga, startLocalWorkers } from "../backend/local/workers.ts";
import { startFakeGemini, type Behaviour, type FakeGemini } from "../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../fixtures/model-fixtures.ts";
import { as, friendAnswer, ownerWithAnswers, ownerWithReadyPersona, quiet } from "./support/saga.ts";
import { committedToDisk, freePort, startDynamoDbLocal, startFauxqs } from "./support/stack.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

const PUBLIC_MESSAGE = "A service we depend on is unavailable; try again shortly";
const names = { tableName: "outage", synthesisQueue: "outage-synthesis", imageQueue: "outage-image", mediaBucket: "outage-media" };

let dataDir: string;
let dynamodbPort: number;
let fauxqsPort: number;
let dynamodb: LocalService;
let fauxqs: LocalService;
let gemini: FakeGemini;
let env: Record<string, string | undefined>;
let config: Config;
let domains: Domains;
let workers: { stop(): Promise<void> };
let target: Target;
const errorLogs: Record<string, unknown>[] = [];

/** Who and what the requests are about, made while every service was up. */
let alice: { uid: string; personaId: string; surveyId: string; chatId: string };
let bob: { uid: string; personaId: string };
let carol: { uid: string };

const startDynamoDb = () => startDynamoDbLocal({ port: dynamodbPort, dataDir: join(dataDir, "dynamodb") });
const startQueues = () => startFauxqs({ port: fauxqsPort, s3Dir: join(dataDir, "s3") });

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "remirai-outage-"));
  [dynamodbPort, fauxqsPort] = [await freePort(), await freePort()];
  [dynamodb, fauxqs] = await Promise.all([startDynamoDb(), startQueues()]);
  // Before the first AWS client of this process exists: the clients read these when made.
  Object.assign(process.env, localAwsEnv(dynamodb, fauxqs));
  gemini = await startFakeGemini({
    apiKey: "test-key",
    fallback: (r): Behaviour =>
      r.model.includes("image")
        ? { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png" }
        : r.method === "streamGenerateContent"
          ? { kind: "text", chunks: ["Nice", " to", " see", " you"] }
          : { kind: "json", value: PERSONA_CARD },
  });
  const queues = await provision(names);
  env = {
    ...process.env,
    AUTH_MODE: "local",
    TABLE_NAME: names.tableName,
    MEDIA_BUCKET: names.mediaBucket,
    SYNTHESIS_QUEUE_URL: queues.synthesisQueueUrl,
    IMAGE_QUEUE_URL: queues.imageQueueUrl,
    LIFECYCLE_QUEUE_URL: queues.lifecycleQueueUrl,
    GEMINI_API_KEY: "test-key",
    GEMINI_BASE_URL: gemini.url,
    ANSWERS_PER_IP_PER_HOUR: "0",
    CHAT_MESSAGES_PER_MINUTE: "1000",
    // Every token reads the stop flag, so a frozen table is met at the next token.
    CHAT_STOP_POLL_MS: "0",
  };
  config = loadConfig(env);
  const log = {
    info() {},
    error: (message: string, attributes: Record<string, unknown>) => void errorLogs.push({ message, ...attributes }),
  };
  domains = compose(config, createProviders(env, quiet), env);
  target = await nodeTarget(createApi(config, { logger: log, domains }));
  workers = startLocalWorkers(localSaga(domains), { waitTimeSeconds: 1, retryDelaySeconds: 0, sweepIntervalMs: 3_600_000 });

  const a = await ownerWithReadyPersona(target);
  const surveyId = (await json(await call("POST", "/v1/surveys", a.uid))).survey_id as string;
  const chatId = (await json(await call("POST", "/v1/chats", a.uid, {}))).chat_id as string;
  const first = await call(
    "POST",
    `/v1/chats/${chatId}/messages`,
    a.uid,
    { text: "Hello before the outage" },
    { accept: "text/event-stream" },
  );
  assert.equal(first.status, 200);
  await first.text();
  alice = { ...a, surveyId, chatId };
  bob = await ownerWithReadyPersona(target);
  assert.equal((await call("PUT", "/v1/personas/me/visibility", bob.uid, { public: true })).status, 200);
  carol = await ownerWithAnswers(target, 3);
});

after(async () => {
  await workers?.stop();
  await target?.close();
  await gemini?.close();
  for (const service of [dynamodb, fauxqs]) {
    process.kill(service.pid, "SIGCONT");
    await service.stop();
  }
  await rm(dataDir, { recursive: true, force: true });
});

function call(method: string, path: string, uid?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${target.url}${path}`, {
    method,
    headers: { ...(uid ? as(uid) : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    // Not a timing assertion: a hang fails the test clearly instead of at the suite's timeout.
    signal: AbortSignal.timeout(30_000),
  });
}

const json = async (res: Response) => (await res.json()) as Record<string, any>;

/** One request per route family, and the status each has when its dependencies are up. */
function routeFamilies(): { name: string; ok: number; send: () => Promise<Response> }[] {
  const { uid, surveyId, chatId } = alice;
  return [
    { name: "create survey", ok: 201, send: () => call("POST", "/v1/surveys", "newcomer") },
    { name: "read survey", ok: 200, send: () => call("GET", `/v1/surveys/${surveyId}`) },
    {
      name: "answer",
      ok: 201,
      send: () =>
        call("POST", `/v1/surveys/${surveyId}/responses`, undefined, friendAnswer("friend-during-outage"), {
          "content-type": "application/json",
        }),
    },
    { name: "summary", ok: 200, send: () => call("GET", `/v1/surveys/${surveyId}/summary`, uid) },
    { name: "profile", ok: 200, send: () => call("GET", "/v1/me", uid) },
    { name: "read persona", ok: 200, send: () => call("GET", "/v1/personas/me", uid) },
    { name: "persona events", ok: 200, send: () => call("GET", "/v1/personas/me/events", uid) },
    { name: "start persona", ok: 202, send: () => call("POST", "/v1/personas/me", carol.uid) },
    { name: "open chat", ok: 201, send: () => call("POST", "/v1/chats", uid, {}) },
    { name: "list chats", ok: 200, send: () => call("GET", "/v1/chats", uid) },
    { name: "chat history", ok: 200, send: () => call("GET", `/v1/chats/${chatId}/messages`, uid) },
    {
      name: "send message (SSE)",
      ok: 200,
      send: () => call("POST", `/v1/chats/${chatId}/messages`, uid, { text: "Are you there?" }, { accept: "text/event-stream" }),
    },
    { name: "one-shot chat", ok: 200, send: () => call("POST", "/v1/personas/me/chat", uid, { text: "Quick question" }) },
    { name: "public card", ok: 200, send: () => call("GET", `/v1/personas/${bob.personaId}/card`) },
    { name: "chemistry", ok: 200, send: () => call("GET", `/v1/personas/me/chemistry/${bob.personaId}?blurb=false`, uid) },
    { name: "visibility", ok: 200, send: () => call("PUT", "/v1/personas/me/visibility", uid, { public: false }) },
  ];
}

/** Every route family at once; each must settle as a 503 the client can act on. Returns the time it took. */
async function assertAllUnavailable(): Promise<number> {
  const families = routeFamilies();
  const started = performance.now();
  const responses = await Promise.all(families.map((f) => f.send()));
  const elapsedMs = Math.round(performance.now() - started);
  for (const [i, res] of responses.entries()) {
    const name = families[i]!.name;
    const text = await res.text();
    assert.equal(res.status, 503, `${name}: ${res.status} ${text}`);
    assert.equal(res.headers.get("retry-after"), "5", name);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/, name);
    const { error } = JSON.parse(text);
    assert.equal(error.code, "service_unavailable", name);
    assert.equal(error.message, PUBLIC_MESSAGE, name);
    assert.equal(error.request_id, res.headers.get("x-request-id"), name);
    assert.doesNotMatch(text, /127\.0\.0\.1|dynamo|AWS_|ECONN|Timeout/i, `${name} names nothing internal`);
  }
  return elapsedMs;
}

async function history(chatId: string) {
  const messages = (await json(await call("GET", `/v1/chats/${chatId}/messages`, alice.uid))).messages as {
    role: string;
    text: string;
    status: string;
    greeting?: true;
  }[];
  // The persona's greeting opens every chat; these tests are about the turns after it.
  return messages.filter((m) => !m.greeting);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = AbortSignal.timeout(60_000);
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (deadline.aborted) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("DynamoDB lost", () => {
  test("frozen, then killed: every route family answers 503 + Retry-After; restarted on the same data, the same requests succeed and nothing accepted is lost", async (t) => {
    // Prepare
    const historyBefore = await history(alice.chatId);
    await committedToDisk(join(dataDir, "dynamodb"));
    errorLogs.length = 0;

    // Act: frozen (SIGSTOP: connections are accepted, nothing answers).
    process.kill(dynamodb.pid, "SIGSTOP");
    t.diagnostic(`frozen: all ${routeFamilies().length} answered 503 within ${await assertAllUnavailable()} ms`);

    // Assess: the log names the dependency and the failure; the responses did not.
    assert.ok(
      errorLogs.some(
        (l) => l.message === "request failed" && /^dynamodb unavailable: /.test(String((l.error as { message?: string }).message)),
      ),
      JSON.stringify(errorLogs.slice(0, 2)),
    );

    // Act: killed while frozen (it never runs the requests it had accepted): connection refused.
    process.kill(dynamodb.pid, "SIGKILL");
    await dynamodb.exited;
    t.diagnostic(`killed: all answered 503 within ${await assertAllUnavailable()} ms`);

    // Act: back on the same port and data directory.
    dynamodb = await startDynamoDb();
    // A just-restarted DynamoDB Local on a loaded machine can be slower than the request
    // timeout for its first writes (the API says 503 + Retry-After, as it should): wait until
    // the API serves a write again, as a client honouring Retry-After would, then replay.
    await until(
      async () => {
        const res = await call("POST", "/v1/surveys", "after-restart");
        await res.text();
        return res.status;
      },
      (status) => status === 201 || status === 200,
      "the API serving writes again",
    );
    const outcomes: string[] = [];
    for (const family of routeFamilies()) {
      const res = await family.send();
      await res.text();
      outcomes.push(`${family.name}: ${res.status}`);
    }

    // Assess
    assert.deepEqual(
      outcomes,
      routeFamilies().map((f) => `${f.name}: ${f.ok}`),
    );
    const summary = await json(await call("GET", `/v1/surveys/${alice.surveyId}/summary`, alice.uid));
    // 3 answers before the outage (the published round), 1 after it (waiting for the next round).
    assert.deepEqual([summary.answer_count, summary.changes_waiting], [3, 1], "3 answers before the outage, 1 after it");
    const messages = await history(alice.chatId);
    assert.deepEqual(messages.slice(0, historyBefore.length), historyBefore, "the history from before the outage is intact");
    assert.deepEqual(
      messages.slice(historyBefore.length).map((m) => [m.role, m.status]),
      [
        ["user", "complete"],
        ["model", "complete"],
      ],
    );
    assert.equal((await json(await call("GET", "/v1/personas/me", alice.uid))).status, "ready");
  });
});

describe("fauxqs lost", () => {
  test("a persona start is accepted and recorded while the queue hangs; once fauxqs is back the sweeper re-drives it to ready", async () => {
    // Prepare
    const dave = await ownerWithAnswers(target, 3);

    // Act: the queue freezes under a persona start.
    process.kill(fauxqs.pid, "SIGSTOP");
    const started = await call("POST", "/v1/personas/me", dave.uid);
    const recorded = await json(await call("GET", "/v1/personas/me", dave.uid));

    // Assess: the saga is stored (its message is the sweeper's to re-send), so 202 is honest.
    assert.equal(started.status, 202, await started.clone().text());
    assert.equal(recorded.status, "synthesizing");

    // Act: fauxqs dies and comes back empty (queues live in memory), is provisioned again,
    // and the sweeper runs once the step's deadline has passed.
    process.kill(fauxqs.pid, "SIGKILL");
    await fauxqs.exited;
    fauxqs = await startQueues();
    await provision(names);
    const report = await domains.saga.sweep(new Date(Date.now() + config.stepTimeoutMs + 1_000));
    const ready = await until(
      () => call("GET", "/v1/personas/me", dave.uid).then(json),
      (v) => v.status === "ready" || v.status === "failed",
      "dave's persona",
    );

    // Assess
    assert.equal(report.redriven, 1);
    assert.equal(ready.status, "ready");
    assert.equal(ready.saga_id, recorded.saga_id, "the saga started during the outage is the one that finished");
  });
});

describe("DynamoDB frozen mid-reply", () => {
  test("the stream ends with a service_unavailable error event; the user's message and the partial reply are kept", async () => {
    // Prepare: no saga is running (the queue behaviours below are the chat's alone).
    await until(
      () => call("GET", "/v1/personas/me", carol.uid).then(json),
      (v) => v.status === "ready",
      "carol's persona",
    );
    const chatId = (await json(await call("POST", "/v1/chats", alice.uid, {}))).chat_id as string;
    gemini.enqueue({ kind: "text", chunks: ["One", " two", " three", " four"], heldBeforeChunk: 2 });
    const seen = gemini.requests.length;

    // Act: two tokens arrive, the table freezes, the model goes on.
    const res = await call("POST", `/v1/chats/${chatId}/messages`, alice.uid, { text: "Tell me a story" }, { accept: "text/event-stream" });
    const events: { event: string; data: any }[] = [];
    const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? "message", data: JSON.parse(e.data) }) });
    const decoder = new TextDecoder();
    let frozen = false;
    for await (const chunk of res.body!) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (!frozen && events.filter((e) => e.event === "token").length === 2) {
        frozen = true;
        process.kill(dynamodb.pid, "SIGSTOP");
        gemini.requests
          .slice(seen)
          .find((r) => r.method === "streamGenerateContent")!
          .release();
      }
    }

    // Assess: the stream ended cleanly with the error event as its last.
    assert.deepEqual(
      events.map((e) => e.event),
      ["message", "token", "token", "error"],
    );
    assert.deepEqual(events.at(-1)!.data, { code: "service_unavailable", message: PUBLIC_MESSAGE });

    // Act: the table comes back.
    process.kill(dynamodb.pid, "SIGCONT");
    const messages = await until(
      () => history(chatId),
      (m) => m.length === 2 && m[1]!.status !== "generating",
      "the reply's ending",
    );

    // Assess: the user's message, and the reply as far as it was handed out.
    assert.deepEqual(
      messages.map((m) => [m.role, m.text, m.status]),
      [
        ["user", "Tell me a story", "complete"],
        ["model", "One two", "interrupted"],
      ],
    );
    const next = await call("POST", `/v1/chats/${chatId}/messages`, alice.uid, { text: "Go on" }, { accept: "text/event-stream" });
    assert.match(await next.text(), /event: done/, "the chat is not left locked");
  });
});

describe("DynamoDB lost after the user's message is stored, before the reply starts", () => {
  test("503, the message is kept, and the chat is released once the table is back (not left locked)", async (t) => {
    // Prepare: an app that folds older turns into a summary on every send (a tiny context),
    // with the model slow to write it, so the table can be frozen between the two writes.
    const folding = await nodeTarget(
      createApi(loadConfig({ ...env, CHAT_CONTEXT_TOKENS: "20" }), { logger: quiet, ports: createProviders(env, quiet) }),
    );
    t.after(() => folding.close());
    const chatId = (await json(await call("POST", "/v1/chats", alice.uid, {}))).chat_id as string;
    const first = await call("POST", `/v1/chats/${chatId}/messages`, alice.uid, { text: "An older turn" }, { accept: "text/event-stream" });
    await first.text();
    const seen = gemini.requests.length;
    gemini.enqueue({ kind: "json", value: { summary: "They talked." }, delayMs: 3_000 });

    // Act: the message is stored, the summary is being written; the table freezes.
    const sent = fetch(`${folding.url}/v1/chats/${chatId}/messages`, {
      method: "POST",
      headers: { ...as(alice.uid), accept: "text/event-stream" },
      body: JSON.stringify({ text: "A newer turn" }),
      signal: AbortSignal.timeout(30_000),
    });
    await until(async () => gemini.requests.length > seen, Boolean, "the summary request");
    process.kill(dynamodb.pid, "SIGSTOP");
    const res = await sent;
    const body = (await res.json()) as { error: { code: string } };
    process.kill(dynamodb.pid, "SIGCONT");
    const messages = await until(
      () => history(chatId),
      (m) => m.length === 4 && m[3]!.status !== "generating",
      "the released turn",
    );
    const next = await call("POST", `/v1/chats/${chatId}/messages`, alice.uid, { text: "Still there?" }, { accept: "text/event-stream" });

    // Assess
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "5");
    assert.equal(body.error.code, "service_unavailable");
    assert.deepEqual(
      messages.slice(2).map((m) => [m.role, m.text, m.status]),
      [
        ["user", "A newer turn", "complete"],
        ["model", "", "failed"],
      ],
    );
    assert.equal(next.status, 200, "the chat is not left locked");
    assert.match(await next.text(), /event: done/);
  });
});
