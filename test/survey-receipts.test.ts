/**
 * Friends control their answer (issue 14, item 2), over HTTP against DynamoDB Local: an
 * accepted answer returns a one-time receipt, stored only as a hash; with it the device
 * withdraws the answer, whose content is then gone; anything else is 404. And rounds: what
 * the owner and the saga see is exactly a published round, even under concurrent answers.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createApi } from "../backend/api/index.ts";
import { compose, type Domains } from "../backend/compose.ts";
import { loadConfig } from "../backend/config.ts";
import { fingerprintHash } from "../backend/data/pseudonym.ts";
import { documentClient } from "../backend/data/documents.ts";
import { aggregate } from "../backend/surveys/aggregate.ts";
import { friendsAnswers } from "./support/differencing.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

const quiet = { info() {}, warn() {}, error() {} };
const as = (uid: string) => ({ "x-user-uid": uid });
const jsonHeaders = { "content-type": "application/json" };

let target: Target;
let domains: Domains;
before(async () => {
  const config = loadConfig({ ...process.env, AUTH_MODE: "local", ANSWERS_PER_IP_PER_HOUR: "0", ANSWERS_PER_SURVEY_PER_MINUTE: "0" });
  domains = compose(config);
  target = await nodeTarget(createApi(config, { logger: quiet, domains }));
});
after(() => target.close());

async function newSurvey(owner = `owner-${randomUUID()}`): Promise<{ owner: string; id: string }> {
  const res = await target.request("/v1/surveys", { method: "POST", headers: as(owner) });
  return { owner, id: JSON.parse(res.body).survey_id };
}

const [friend, ...others] = friendsAnswers(16, 42);

function answer(id: string, fingerprint: string, answers = friend!) {
  return target.request(`/v1/surveys/${id}/responses`, {
    method: "POST",
    headers: jsonHeaders,
    body: JSON.stringify({ fingerprint, answers }),
  });
}

function withdraw(id: string, body: unknown) {
  return target.request(`/v1/surveys/${id}/responses/withdraw`, { method: "POST", headers: jsonHeaders, body: JSON.stringify(body) });
}

async function surveyItems(id: string): Promise<Record<string, any>[]> {
  const { Items = [] } = await documentClient().send(
    new QueryCommand({
      TableName: process.env.TABLE_NAME!,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": `SURVEY#${id}` },
      ConsistentRead: true,
    }),
  );
  return Items;
}

describe("receipts", () => {
  test("an accepted answer carries a one-time receipt; only its hash is stored", async () => {
    // Prepare
    const { id } = await newSurvey();
    const fingerprint = `device-${randomUUID()}`;

    // Act
    const res = await answer(id, fingerprint);

    // Assess
    assert.equal(res.status, 201);
    assert.equal(res.headers["cache-control"], "no-store");
    const { receipt } = JSON.parse(res.body);
    const [answerId, secret] = receipt.split(".");
    assert.equal(answerId, fingerprintHash(id, fingerprint), "the receipt names its answer");
    assert.ok(Buffer.from(secret, "base64url").length >= 16, "at least 128 random bits");
    const { Items = [] } = await documentClient().send(new ScanCommand({ TableName: process.env.TABLE_NAME!, ConsistentRead: true }));
    const dump = JSON.stringify(Items);
    assert.ok(!dump.includes(secret), "the receipt's secret is stored nowhere");
    const stored = (await surveyItems(id)).find((i) => i.SK === `ANSWER#${answerId}`)!;
    assert.match(stored.receiptHash, /^[\w-]{43}$/);
  });

  test("withdrawing removes the answer's content; the receipt then is spent and the device cannot answer again", async () => {
    // Prepare
    const { id } = await newSurvey();
    const fingerprint = `device-${randomUUID()}`;
    const { receipt } = JSON.parse((await answer(id, fingerprint)).body);

    // Act
    const withdrawn = await withdraw(id, { receipt });
    const again = await withdraw(id, { receipt });
    const reanswer = await answer(id, fingerprint);

    // Assess
    assert.equal(withdrawn.status, 200, withdrawn.body);
    assert.deepEqual(JSON.parse(withdrawn.body), { survey_id: id, withdrawn: true });
    assert.equal(again.status, 404, "a spent receipt is like an unknown one");
    assert.equal(reanswer.status, 409, "the tombstone keeps one answer per device");
    const items = await surveyItems(id);
    const tombstone = items.find((i) => String(i.SK).startsWith("ANSWER#"))!;
    assert.deepEqual(Object.keys(tombstone).sort(), ["PK", "SK", "createdAt", "withdrawnAt"]);
    assert.equal(items.find((i) => i.SK === "META")!.answerCount, 0);
  });

  test("a wrong, malformed or another survey's receipt is 404 and withdraws nothing; no receipt is 400", async () => {
    // Prepare
    const { id } = await newSurvey();
    const { receipt } = JSON.parse((await answer(id, `device-${randomUUID()}`)).body);
    const other = await newSurvey();
    const [answerId, secret] = receipt.split(".");
    const flipped = `${answerId}.${secret.startsWith("A") ? "B" : "A"}${secret.slice(1)}`;

    // Act
    const statuses = [
      (await withdraw(id, { receipt: flipped })).status,
      (await withdraw(id, { receipt: "not-a-receipt" })).status,
      (await withdraw(id, { receipt: `${"x".repeat(43)}.${secret}` })).status,
      (await withdraw(other.id, { receipt })).status,
    ];
    const missing = await withdraw(id, {});
    const unknownSurvey = await withdraw("AAAAAAAAAAAAAAAAAAAAAA", { receipt });

    // Assess
    assert.deepEqual(statuses, [404, 404, 404, 404]);
    assert.equal(missing.status, 400);
    assert.equal(unknownSurvey.status, 404);
    const stored = (await surveyItems(id)).find((i) => i.SK === `ANSWER#${answerId}`)!;
    assert.ok(stored.answers, "the answer is still there");
    assert.equal((await withdraw(id, { receipt })).status, 200, "the right receipt still works");
  });

  test("a withdrawn friend's words leave the saga's material at once; the numbers wait for a round", async () => {
    // Prepare: a round of 4 answers, one of them with a text.
    const { id } = await newSurvey();
    const words = { ...friend!, texts: { strength: "Unmistakably generous with her evenings." } };
    const { receipt } = JSON.parse((await answer(id, `device-${randomUUID()}`, words)).body);
    for (const a of others.slice(0, 2)) await answer(id, `device-${randomUUID()}`, a);
    const before = await domains.surveys.material(id);

    // Act
    await withdraw(id, { receipt });
    const after = await domains.surveys.material(id);

    // Assess
    assert.deepEqual(before.quotes.strength, ["Unmistakably generous with her evenings."]);
    assert.equal(after.quotes.strength, undefined);
    assert.deepEqual(after.aggregates, before.aggregates, "the published numbers change only with the next round");
  });
});

describe("rounds", () => {
  test("concurrent answers: every round holds the aggregates of exactly its answers, 3 or more changes apart", async () => {
    // Prepare
    const { owner, id } = await newSurvey();

    // Act: 13 answers at once, then the owner reads.
    await Promise.all(others.slice(0, 13).map((a, i) => answer(id, `device-${i}-${randomUUID()}`, a)));
    const summary = JSON.parse((await target.request(`/v1/surveys/${id}/summary`, { headers: as(owner) })).body);

    // Assess
    const items = await surveyItems(id);
    const answersById = new Map(items.filter((i) => String(i.SK).startsWith("ANSWER#")).map((i) => [String(i.SK).slice(7), i.answers]));
    const rounds = items.filter((i) => String(i.SK).startsWith("ROUND#"));
    assert.ok(rounds.length >= 1);
    assert.deepEqual(
      rounds.map((r) => r.round),
      rounds.map((_, i) => i + 1),
      "rounds are numbered without gaps",
    );
    let previous = new Set<string>();
    for (const round of rounds) {
      const { johari: _, ...expected } = aggregate(round.members.map((m: string) => answersById.get(m)));
      assert.deepEqual(round.aggregates, expected, `round ${round.round} is the aggregate of exactly its answers`);
      const members = new Set<string>(round.members);
      assert.ok(members.size - previous.size >= 3, `round ${round.round} adds at least 3 answers`);
      previous = members;
    }
    assert.equal(summary.round, rounds.length);
    assert.equal(summary.answer_count, rounds.at(-1)!.members.length);
    assert.equal(summary.answer_count + summary.changes_waiting, 13, "every answer is shown or waiting");
  });

  test("the owner's persona cannot start before a round is published", async () => {
    // Prepare: two answers, nothing published.
    const { owner, id } = await newSurvey();
    for (const a of others.slice(0, 2)) await answer(id, `device-${randomUUID()}`, a);

    // Act
    const res = await target.request("/v1/personas/me", { method: "POST", headers: as(owner) });

    // Assess
    assert.equal(res.status, 422);
    assert.deepEqual(JSON.parse(res.body).error.details, { answers: 2, needed: 1 });
    await assert.rejects(domains.surveys.material(id), /No round of answers is published yet/);
  });
});
