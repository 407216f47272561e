/**
 * Limits on every costly action, over HTTP against DynamoDB Local: persona starts per user
 * per day, new chats per user per hour, sign-in attempts per client IP per hour, deletions
 * per user per day (exports: test/account-export.test.ts; answers: test/surveys.test.ts),
 * each a 429 with Retry-After that wrote nothing; refused attempts count nothing. And the
 * running summary's model call is charged to the user's daily token budget.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { documentClient } from "../backend/data/documents.ts";
import { localSaga, startLocalWorkers } from "../backend/local/workers.ts";
import { promptText, startFakeGemini, type Behaviour, type FakeGemini } from "../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../fixtures/model-fixtures.ts";
import { startGoogleIssuer, TEST_CLIENT_ID, type GoogleIssuer } from "./support/google-issuer.ts";
import { personaWhenReady, scanAll } from "./support/lifecycle.ts";
import { as, ownerWithAnswers, ownerWithReadyPersona, sagaStack, sseEvents, type SagaStack } from "./support/saga.ts";

/** 429 `rate_limited` naming `limit` (the API's `details.limit`), with a Retry-After inside the window. */
function assertLimited(res: { status: number; body: string; headers: Record<string, unknown> }, limit: string, window: number) {
  assert.equal(res.status, 429, res.body);
  const { error } = JSON.parse(res.body);
  assert.deepEqual([error.code, error.details], ["rate_limited", { limit }]);
  const retryAfter = Number(res.headers["retry-after"]);
  assert.ok(retryAfter >= 1 && retryAfter <= window, `Retry-After ${retryAfter}`);
}

describe("per-user limits", () => {
  let stack: SagaStack;
  let google: GoogleIssuer;
  before(async () => {
    google = await startGoogleIssuer();
    stack = await sagaStack({
      PERSONA_STARTS_PER_DAY: "2",
      CHATS_PER_HOUR: "2",
      DELETIONS_PER_DAY: "1",
      SIGN_INS_PER_IP_PER_HOUR: "2",
      GOOGLE_CLIENT_ID: TEST_CLIENT_ID,
      GOOGLE_ISSUERS: google.issuer,
      GOOGLE_JWKS_URL: google.jwksUrl,
    });
  });
  after(async () => {
    await stack?.close();
    await google?.close();
  });

  test("persona starts per day: a refused start (saga running) counts nothing; past the allowance 429", async () => {
    // Prepare: no workers yet, so the first saga is surely still running at the second start.
    const idle = await sagaStack({ PERSONA_STARTS_PER_DAY: "2" }, { workers: false });
    let workers: { stop(): Promise<void> } | undefined;
    try {
      const { uid } = await ownerWithAnswers(idle.target, 3);
      const start = () => idle.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });

      // Act
      const first = await start();
      const whileRunning = await start();
      workers = startLocalWorkers(localSaga(idle.domains), { waitTimeSeconds: 1, retryDelaySeconds: 0, sweepIntervalMs: 3_600_000 });
      await personaWhenReady(idle.target, uid);
      const second = await start();
      await personaWhenReady(idle.target, uid);
      const third = await start();

      // Assess
      assert.deepEqual([first.status, whileRunning.status, second.status], [202, 409, 202]);
      assert.equal(JSON.parse(whileRunning.body).error.code, "saga_running");
      assertLimited(third, "persona_starts_per_day", 86_400);
      const view = JSON.parse((await idle.target.request("/v1/personas/me", { headers: as(uid) })).body);
      assert.deepEqual([view.status, view.version], ["ready", 2], "the refused start began no saga");
    } finally {
      await workers?.stop();
      await idle.close();
    }
  });

  test("new chats per hour: past the allowance 429, and no chat made", async () => {
    // Prepare
    const { uid } = await ownerWithReadyPersona(stack.target);
    const open = () => stack.target.request("/v1/chats", { method: "POST", headers: as(uid), body: "{}" });

    // Act
    const statuses = [(await open()).status, (await open()).status];
    const third = await open();

    // Assess
    assert.deepEqual(statuses, [201, 201]);
    assertLimited(third, "chats_per_hour", 3600);
    assert.equal(JSON.parse((await stack.target.request("/v1/chats", { headers: as(uid) })).body).chats.length, 2);
  });

  test("sign-in attempts per client IP: counted before the token is looked at", async () => {
    // Act
    const attempt = (token: string) =>
      stack.target.request("/v1/auth/google", {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `203.0.113.${Math.floor(Math.random() * 250)}` },
        body: JSON.stringify({ id_token: token }),
      });
    const good = await google.idToken({ sub: `limit-${randomUUID()}` });
    const results = [await attempt("not-a-token"), await attempt(good), await attempt(good)];

    // Assess
    assert.deepEqual(
      results.slice(0, 2).map((r) => r.status),
      [401, 200],
    );
    assertLimited(results[2]!, "sign_ins_per_ip", 3600);
  });

  test("deletions per day: a refused deletion deletes nothing; one of something that does not exist counts nothing", async () => {
    // Prepare
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 1);
    const del = (id: string) => stack.target.request(`/v1/surveys/${id}`, { method: "DELETE", headers: as(uid) });
    const closed = await stack.target.request(`/v1/surveys/${surveyId}/close`, { method: "POST", headers: as(uid) });
    const next = JSON.parse((await stack.target.request(`/v1/surveys/${surveyId}/reopen`, { method: "POST", headers: as(uid) })).body);

    // Act
    const unknown = await del("AAAAAAAAAAAAAAAAAAAAAA");
    const first = await del(surveyId);
    const second = await del(next.survey_id);

    // Assess
    assert.equal(closed.status, 200);
    assert.equal(unknown.status, 404);
    assert.equal(first.status, 200);
    assertLimited(second, "deletions_per_day", 86_400);
    assert.equal((await stack.target.request(`/v1/surveys/${next.survey_id}`)).status, 200, "the refused deletion left it alone");
  });

  test("retention: every counter and every pseudonym item carries its expiry, within two windows (a day for a revocation)", async () => {
    // Prepare: the tests above counted answers, chats, sign-ins and deletions (their starts ran
    // on a stack of their own: one start here); and an account is deleted.
    const starter = await ownerWithAnswers(stack.target, 3);
    assert.equal((await stack.target.request("/v1/personas/me", { method: "POST", headers: as(starter.uid) })).status, 202);
    const { uid } = await ownerWithAnswers(stack.target, 1);
    // 202: its second pass is queued for DELETION_RECHECK_SECONDS later (the default here).
    assert.equal((await stack.target.request("/v1/me", { method: "DELETE", headers: as(uid) })).status, 202);

    // Act
    const items = await scanAll(stack.config.tableName);

    // Assess
    const now = Date.now() / 1000;
    const counters = items.filter((i) => String(i.PK).startsWith("RATE#"));
    const revoked = items.filter((i) => String(i.PK).startsWith("REVOKED#"));
    assert.ok(counters.length >= 8 && revoked.length === 1, `${counters.length} counters, ${revoked.length} revocations`);
    for (const item of counters) {
      const expires = Number(item.expiresAt);
      assert.ok(expires > now && expires <= now + 2 * 86_400, `${item.PK} ${item.SK} expires at ${item.expiresAt}`);
    }
    const expires = Number(revoked[0]!.expiresAt);
    assert.ok(expires > now && expires <= now + stack.config.jwtTtlSeconds + 1);
    const scopes = new Set(counters.map((i) => String(i.SK).split("#")[1]));
    for (const scope of ["answer-ip", "answer-survey", "persona-start", "chat-create", "sign-in", "deletion"])
      assert.ok(scopes.has(scope), `a ${scope} counter was written: ${[...scopes]}`);
  });
});

describe("the running summary's model call", () => {
  let gemini: FakeGemini;
  let stack: SagaStack;
  /** What the model reports for each summary: distinct numbers, easy to find in the budget. */
  const SUMMARY_USAGE = { input: 700, output: 30 };

  before(async () => {
    gemini = await startFakeGemini({
      apiKey: "test-key",
      fallback: (r): Behaviour => {
        if (r.model.includes("image")) return { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png" };
        if (r.method === "streamGenerateContent") return { kind: "text", chunks: ["A reply of some length, ", "to fill the context."] };
        if (/running summary/.test(promptText(r)))
          return { kind: "text", chunks: [JSON.stringify({ summary: "They talked." })], usage: SUMMARY_USAGE };
        return { kind: "json", value: PERSONA_CARD };
      },
    });
    // A context of a few turns, so older ones are folded into the summary.
    stack = await sagaStack({ GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url, CHAT_CONTEXT_TOKENS: "60" });
  });
  after(async () => {
    await stack?.close();
    await gemini?.close();
  });

  test("is charged to the user's daily token budget with the replies", async () => {
    // Prepare
    const { uid } = await ownerWithReadyPersona(stack.target);
    const chatId = JSON.parse((await stack.target.request("/v1/chats", { method: "POST", headers: as(uid), body: "{}" })).body).chat_id;
    const seen = gemini.requests.length;

    // Act
    let replyTokens = 0;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${stack.target.url}/v1/chats/${chatId}/messages`, {
        method: "POST",
        headers: { ...as(uid), accept: "text/event-stream" },
        body: JSON.stringify({ text: `Tell me something about day ${i} of the trip, in some detail please.` }),
      });
      const done = (await sseEvents(res)).find((e) => e.event === "done")!;
      replyTokens += done.data.usage.input_tokens + done.data.usage.output_tokens;
    }

    // Assess
    const summaries = gemini.requests.slice(seen).filter((r) => r.method === "generateContent").length;
    assert.ok(summaries >= 1, "the context overflowed into a summary");
    const { Items = [] } = await documentClient().send(
      new QueryCommand({
        TableName: stack.config.tableName,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :tokens)",
        ExpressionAttributeValues: { ":pk": `RATE#USER#${uid}`, ":tokens": "WINDOW#chat-tokens#" },
        ConsistentRead: true,
      }),
    );
    const charged = Items.reduce((sum, item) => sum + Number(item.count), 0);
    assert.equal(charged, replyTokens + summaries * (SUMMARY_USAGE.input + SUMMARY_USAGE.output));
  });
});
