/**
 * The owner's persona page (`GET /v1/personas/me`) in one DynamoDB request (issue 18): the
 * survey's live answer count is copied onto the owner's `OPEN_SURVEY` pointer by every
 * change, so the read is one BatchGetItem of the persona and the pointer. What it shows must
 * be what it showed when it read the survey itself: the current survey's `answerCount`, 0 for
 * a survey being deleted. Against DynamoDB Local, through HTTP; requests counted by the
 * process's capacity meter around the same domain call the handler makes.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documentClient } from "../backend/data/documents.ts";
import { keys, type Key } from "../backend/data/keys.ts";
import { accountPseudonym } from "../backend/data/pseudonym.ts";
import { Table } from "../backend/data/table.ts";
import { lifecycleStore } from "../backend/lifecycle/store.ts";
import { dynamoClient } from "../backend/ports/aws.ts";
import { measureCapacity } from "../backend/ports/capacity.ts";
import { roundTripsBefore, traceDynamo } from "../fixtures/dynamo-trace.ts";
import { surveyStore } from "../backend/surveys/store.ts";
import type { Survey } from "../backend/surveys/surveys.ts";
import { scanAll } from "./support/lifecycle.ts";
import { as, friendAnswer, ownerWithAnswers, sagaStack, type SagaStack } from "./support/saga.ts";

let stack: SagaStack;
// Many friends answer from this one test client; a deletion of more than one item goes to the background.
before(async () => (stack = await sagaStack({ ANSWERS_PER_IP_PER_HOUR: "0", DELETION_INLINE_ITEMS: "1" }, { workers: false })));
after(() => stack?.close());

const post = async (path: string, uid?: string, body?: unknown) => {
  const res = await stack.target.request(path, {
    method: "POST",
    headers: uid ? as(uid) : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.status < 300, `${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body || "{}");
};

async function answer(surveyId: string): Promise<string> {
  return (await post(`/v1/surveys/${surveyId}/responses`, undefined, friendAnswer(`device-${randomUUID()}`))).receipt;
}

const get = async (key: Key) =>
  (await documentClient().send(new GetCommand({ TableName: stack.config.tableName, Key: key, ConsistentRead: true }))).Item;

/** What the page showed before the copy: the current survey's item, read (0 when there is none or it is being deleted). */
async function answersAsBefore(uid: string): Promise<number> {
  const pointer = await get(keys.openSurvey(uid));
  const survey = pointer ? await get(keys.survey(pointer.surveyId)) : undefined;
  return survey && survey.status !== "deleted" ? survey.answerCount : 0;
}

/** The page over HTTP, and the DynamoDB requests the same read costs the domain. */
async function page(uid: string) {
  const res = await stack.target.request("/v1/personas/me", { headers: as(uid) });
  assert.equal(res.status, 200, res.body);
  const { result, capacity } = await measureCapacity(() => stack.domains.personas.view(uid));
  return { view: JSON.parse(res.body), domainView: result, requests: capacity.requests };
}

async function assertShows(uid: string, answers: number, moment: string) {
  const { view, domainView, requests } = await page(uid);
  assert.deepEqual([view.answers, view.answers_needed], [answers, Math.max(0, 3 - answers)], moment);
  assert.equal(view.answers, await answersAsBefore(uid), `${moment}: what the page showed before`);
  assert.deepEqual(view, domainView, `${moment}: the handler shows the domain's view`);
  assert.equal(requests, 1, `${moment}: one DynamoDB request`);
}

describe("persona read", () => {
  test("one request shows the current survey's answers: before a round, once published, after a withdrawal, closed, a new round", async () => {
    // Prepare
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 0);

    // Act, Assess: each moment as the owner sees it
    await assertShows(uid, 0, "a new survey");
    await answer(surveyId);
    const receipt = await answer(surveyId);
    await assertShows(uid, 2, "two answers, no round yet");
    await answer(surveyId);
    const summary = JSON.parse((await stack.target.request(`/v1/surveys/${surveyId}/summary`, { headers: as(uid) })).body);
    assert.equal(summary.round, 1, "the third answer published a round");
    await assertShows(uid, 3, "a round published");
    await post(`/v1/surveys/${surveyId}/responses/withdraw`, undefined, { receipt });
    await assertShows(uid, 2, "after a withdrawal");
    await post(`/v1/surveys/${surveyId}/close`, uid);
    await assertShows(uid, 2, "closed");
    const next = await post(`/v1/surveys/${surveyId}/reopen`, uid);
    await assertShows(uid, 0, "a new round of asking opened");
    await answer(next.survey_id);
    await assertShows(uid, 1, "the new round's first answer");
  });

  test("a survey being deleted in the background shows no answers, in one request", async () => {
    // Prepare
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 3);

    // Act
    const deleted = await stack.target.request(`/v1/surveys/${surveyId}`, { method: "DELETE", headers: as(uid) });

    // Assess
    assert.equal(deleted.status, 202, "more items than DELETION_INLINE_ITEMS: the rest goes in the background");
    assert.equal((await get(keys.openSurvey(uid)))?.surveyId, surveyId, "the pointer is still there");
    await assertShows(uid, 0, "being deleted");
  });

  test("deleting an older round's survey leaves the current one's count alone", async () => {
    // Prepare
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 3);
    await post(`/v1/surveys/${surveyId}/close`, uid);
    const next = await post(`/v1/surveys/${surveyId}/reopen`, uid);
    await answer(next.survey_id);

    // Act
    const deleted = await stack.target.request(`/v1/surveys/${surveyId}`, { method: "DELETE", headers: as(uid) });

    // Assess
    assert.ok(deleted.status === 200 || deleted.status === 202, deleted.body);
    await assertShows(uid, 1, "the current survey after an older one's deletion");
  });

  test("a pointer from before the copy is read through the survey, and the next answer copies the count", async () => {
    // Prepare: a survey with two answers whose pointer carries no count (as stored before this change)
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 2);
    await documentClient().send(
      new UpdateCommand({ TableName: stack.config.tableName, Key: keys.openSurvey(uid), UpdateExpression: "REMOVE answerCount, changes" }),
    );

    // Act
    const old = await page(uid);
    await answer(surveyId);

    // Assess
    assert.deepEqual([old.view.answers, old.view.answers_needed, old.requests], [2, 1, 2], "the survey read as before: two requests");
    await assertShows(uid, 3, "copied by the next answer");
  });

  test("a copy that lands after a later one never takes the count back", async () => {
    // Prepare: the survey as one change left it, then two more changes copied
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 1);
    const early = (await get(keys.survey(surveyId))) as Survey;
    await answer(surveyId);
    await answer(surveyId);

    // Act: the first change's copy arrives last
    await surveyStore(new Table(stack.config.tableName)).copyCountToPointer(early);

    // Assess
    await assertShows(uid, 3, "after a late copy");
  });
});

describe("the owner's account check beside the persona's read", () => {
  const requestAs = (uid: string, path: string, method: "GET" | "POST") => {
    const requestId = `persona-${randomUUID()}`;
    return { requestId, sent: stack.target.request(path, { method, headers: { ...as(uid), "x-request-id": requestId } }) };
  };
  const sequence = (requestId: string) => trace.of(requestId).map((c) => c.command);
  const trace = traceDynamo(dynamoClient());

  test("the page is one round trip: the persona read and the account check side by side", async () => {
    // Prepare
    const { uid } = await ownerWithAnswers(stack.target, 1);

    // Act
    const { requestId, sent } = requestAs(uid, "/v1/personas/me", "GET");
    const res = await sent;

    // Assess
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).answers, 1);
    assert.deepEqual(sequence(requestId).sort(), ["BatchGetItem", "GetItem"]);
    assert.equal(roundTripsBefore(trace.of(requestId), Number.POSITIVE_INFINITY), 1);
  });

  test("a start is two DynamoDB round trips and three requests: the read beside the check, then the transaction", async () => {
    // Prepare
    const { uid } = await ownerWithAnswers(stack.target, 3);

    // Act
    const { requestId, sent } = requestAs(uid, "/v1/personas/me", "POST");
    const res = await sent;

    // Assess
    assert.equal(res.status, 202, res.body);
    const calls = trace.of(requestId);
    assert.deepEqual(
      calls
        .map((c) => c.command)
        .slice(0, 2)
        .sort(),
      ["BatchGetItem", "GetItem"],
    );
    assert.deepEqual(calls.map((c) => c.command).slice(2), ["TransactWriteItems"]);
    assert.equal(roundTripsBefore(calls, Number.POSITIVE_INFINITY), 2);
  });

  test("a deleted account's start and read are 401 account_deleted, and the start writes nothing", async () => {
    // Prepare: the moment after DELETE /v1/me revoked the account, before its items are deleted.
    const { uid } = await ownerWithAnswers(stack.target, 3);
    const now = new Date();
    await lifecycleStore(new Table(stack.config.tableName)).revoke(accountPseudonym(uid), now, Math.ceil(now.getTime() / 1000) + 3600);
    const tableBefore = await scanAll(stack.config.tableName);

    // Act
    const start = requestAs(uid, "/v1/personas/me", "POST");
    const started = await start.sent;
    const read = await requestAs(uid, "/v1/personas/me", "GET").sent;

    // Assess
    for (const res of [started, read]) {
      assert.equal(res.status, 401, res.body);
      assert.equal(JSON.parse(res.body).error.code, "account_deleted");
    }
    assert.ok(!sequence(start.requestId).includes("TransactWriteItems"), "the start's transaction was never sent");
    assert.deepEqual(await scanAll(stack.config.tableName), tableBefore, "nothing was written");
  });
});
