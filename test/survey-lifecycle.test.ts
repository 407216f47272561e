/**
 * A survey's life over HTTP against DynamoDB Local: close (no more answers, the summary
 * stays, friends can still withdraw theirs), reopen as a new round of asking (a new survey
 * and link after the closed one), delete (404 at once; every item of it gone: answers,
 * receipts, published rounds, counters), and who may do each.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { keyOf, mentions, scanAll } from "./support/lifecycle.ts";
import { as, friendAnswer, ownerWithAnswers, sagaStack, type SagaStack } from "./support/saga.ts";

let stack: SagaStack;
// Six friends answer one survey from this one test client.
before(async () => (stack = await sagaStack({ ANSWERS_PER_IP_PER_HOUR: "0" }, { workers: false })));
after(() => stack?.close());

const post = (path: string, uid?: string, body?: unknown) =>
  stack.target.request(path, {
    method: "POST",
    headers: uid ? as(uid) : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("survey lifecycle", () => {
  test("close: answers refused with 409, the summary and the questions stay; closing again is harmless", async () => {
    // Prepare
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 3);

    // Act
    const closed = await post(`/v1/surveys/${surveyId}/close`, uid);
    const again = await post(`/v1/surveys/${surveyId}/close`, uid);
    const late = await post(`/v1/surveys/${surveyId}/responses`, undefined, friendAnswer(`late-${randomUUID()}`));

    // Assess
    assert.equal(closed.status, 200, closed.body);
    assert.deepEqual(JSON.parse(closed.body), { survey_id: surveyId, status: "closed" });
    assert.equal(again.status, 200);
    assert.equal(late.status, 409);
    assert.equal(JSON.parse(late.body).error.code, "survey_closed");
    const summary = JSON.parse((await stack.target.request(`/v1/surveys/${surveyId}/summary`, { headers: as(uid) })).body);
    assert.equal(summary.answer_count, 3);
    assert.equal(JSON.parse((await stack.target.request(`/v1/surveys/${surveyId}`)).body).status, "closed");
    const persona = JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(uid) })).body);
    assert.equal(persona.answers, 3, "the persona is still made from the closed survey");
  });

  test("reopen: a new round is a new open survey; the closed one stays readable; POST /v1/surveys returns the new one", async () => {
    // Prepare
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 3);
    const early = await post(`/v1/surveys/${surveyId}/reopen`, uid);
    await post(`/v1/surveys/${surveyId}/close`, uid);

    // Act
    const reopened = await post(`/v1/surveys/${surveyId}/reopen`, uid);
    const twice = await post(`/v1/surveys/${surveyId}/reopen`, uid);
    const next = JSON.parse(reopened.body);
    const current = JSON.parse((await post("/v1/surveys", uid)).body);
    const answer = await post(`/v1/surveys/${next.survey_id}/responses`, undefined, friendAnswer(`round2-${randomUUID()}`));

    // Assess
    assert.equal(early.status, 409);
    assert.equal(JSON.parse(early.body).error.code, "survey_not_closed");
    assert.equal(reopened.status, 201, reopened.body);
    assert.notEqual(next.survey_id, surveyId);
    assert.equal(next.previous_survey_id, surveyId);
    assert.match(next.survey_url, new RegExp(`/s/${next.survey_id}$`));
    assert.equal(twice.status, 409, "the closed survey is no longer the current one");
    assert.equal(JSON.parse(twice.body).error.code, "survey_not_current");
    assert.equal(current.survey_id, next.survey_id);
    assert.equal(answer.status, 201);
    const old = JSON.parse((await stack.target.request(`/v1/surveys/${surveyId}/summary`, { headers: as(uid) })).body);
    assert.equal(old.answer_count, 3, "the old round keeps its answers");
  });

  test("only the owner closes, reopens or deletes; someone else's survey is 404 like an unknown one", async () => {
    // Prepare
    const { surveyId } = await ownerWithAnswers(stack.target, 0);
    const stranger = `stranger-${randomUUID()}`;
    const unknown = "AAAAAAAAAAAAAAAAAAAAAA";

    // Act
    const results = [
      await post(`/v1/surveys/${surveyId}/close`, stranger),
      await post(`/v1/surveys/${surveyId}/reopen`, stranger),
      await stack.target.request(`/v1/surveys/${surveyId}`, { method: "DELETE", headers: as(stranger) }),
      await post(`/v1/surveys/${unknown}/close`, stranger),
      await stack.target.request(`/v1/surveys/${unknown}`, { method: "DELETE", headers: as(stranger) }),
      await post(`/v1/surveys/${surveyId}/close`),
    ];

    // Assess: never a 403 that confirms the survey exists (issue 15).
    assert.deepEqual(
      results.map((r) => r.status),
      [404, 404, 404, 404, 404, 401],
    );
    assert.deepEqual(
      results.slice(0, 5).map((r) => JSON.parse(r.body).error.message),
      Array(5).fill("No such survey"),
    );
    assert.equal(JSON.parse((await stack.target.request(`/v1/surveys/${surveyId}`)).body).status, "open");
  });

  test("delete: 404 at once; every item of the survey and its counters gone; the owner can start afresh", async () => {
    // Prepare
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 3);
    await stack.target.request(`/v1/surveys/${surveyId}/self`, {
      method: "PUT",
      headers: as(uid),
      body: JSON.stringify({ answers: { adjectives: ["kind", "calm", "brave", "wise", "witty"] } }),
    });
    const before = (await scanAll(stack.config.tableName)).filter((i) => mentions(i, [surveyId]));

    // Act
    const deleted = await stack.target.request(`/v1/surveys/${surveyId}`, { method: "DELETE", headers: as(uid) });

    // Assess
    assert.equal(deleted.status, 200, deleted.body);
    assert.ok(before.length >= 8, `meta, 3 answers, self, 2 pointers, counters: ${before.length}`);
    const left = (await scanAll(stack.config.tableName)).filter((i) => mentions(i, [surveyId]));
    assert.deepEqual(left.map(keyOf), []);
    for (const path of [`/v1/surveys/${surveyId}`, `/v1/surveys/${surveyId}/summary`])
      assert.equal((await stack.target.request(path, { headers: as(uid) })).status, 404, path);
    assert.equal((await post(`/v1/surveys/${surveyId}/responses`, undefined, friendAnswer(`gone-${randomUUID()}`))).status, 404);
    const fresh = await post("/v1/surveys", uid);
    assert.equal(fresh.status, 201);
    assert.notEqual(JSON.parse(fresh.body).survey_id, surveyId);
  });

  test("a friend withdraws from a closed survey: the next round follows; after the survey's deletion a receipt is 404", async () => {
    // Prepare: six friends answer and keep their receipts; the first round is published.
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 0);
    const receipts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(`/v1/surveys/${surveyId}/responses`, undefined, friendAnswer(`withdraw-${i}-${randomUUID()}`));
      assert.equal(res.status, 201, res.body);
      receipts.push(JSON.parse(res.body).receipt);
    }
    const summary = async () => JSON.parse((await stack.target.request(`/v1/surveys/${surveyId}/summary`, { headers: as(uid) })).body);
    assert.equal((await summary()).answer_count, 6);
    await post(`/v1/surveys/${surveyId}/close`, uid);

    // Act: three withdraw from the closed survey, then the owner deletes it and a fourth tries.
    const withdrawn = [];
    for (const receipt of receipts.slice(0, 3))
      withdrawn.push(await post(`/v1/surveys/${surveyId}/responses/withdraw`, undefined, { receipt }));
    const afterWithdrawals = await summary();
    const deleted = await stack.target.request(`/v1/surveys/${surveyId}`, { method: "DELETE", headers: as(uid) });
    const late = await post(`/v1/surveys/${surveyId}/responses/withdraw`, undefined, { receipt: receipts[3] });

    // Assess
    assert.deepEqual(
      withdrawn.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal(afterWithdrawals.answer_count, 3, "a round of 3 withdrawals is published on the closed survey");
    assert.equal(afterWithdrawals.round, 3, "rounds at 3 and 6 answers, then one of 3 withdrawals");
    assert.equal(deleted.status, 200, deleted.body);
    assert.equal(late.status, 404);
    assert.equal(JSON.parse(late.body).error.message, "No such answer");
    const left = (await scanAll(stack.config.tableName)).filter((i) => mentions(i, [surveyId]));
    assert.deepEqual(left.map(keyOf), [], "no answer, tombstone, receipt hash or round is left");
  });
});
