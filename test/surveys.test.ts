/**
 * Surveys end to end over HTTP against DynamoDB Local, through the production app in local
 * auth mode (identity from x-user-uid).
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createApi } from "../backend/api/index.ts";
import { loadConfig } from "../backend/config.ts";
import { fingerprintHash, ipPseudonym } from "../backend/data/pseudonym.ts";
import { documentClient } from "../backend/data/documents.ts";
import { RATING_ITEMS } from "../backend/surveys/questions.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

const quiet = { info() {}, error() {} };
const tableName = () => process.env.TABLE_NAME!;

async function app(env: Record<string, string> = {}): Promise<Target> {
  return nodeTarget(
    createApi(loadConfig({ ...process.env, AUTH_MODE: "local", PUBLIC_BASE_URL: "https://remirai.test", ...env }), { logger: quiet }),
  );
}

const as = (uid: string) => ({ "x-user-uid": uid });
const jsonHeaders = { "content-type": "application/json" };

function validAnswer(fingerprint: string, overrides: Record<string, unknown> = {}) {
  return {
    fingerprint,
    answers: {
      adjectives: ["kind", "witty", "calm", "brave", "wise"],
      ratings: Object.fromEntries(RATING_ITEMS.map((item, i) => [item.id, (i % 7) + 1])),
      texts: { strength: "Listening. Mail me at someone@example.com" },
      ...overrides,
    },
  };
}

async function createSurvey(target: Target, owner: string): Promise<string> {
  const res = await target.request("/v1/surveys", { method: "POST", headers: as(owner) });
  assert.ok(res.status === 201 || res.status === 200, res.body);
  return JSON.parse(res.body).survey_id;
}

function answer(target: Target, surveyId: string, body: unknown, headers: Record<string, string> = {}) {
  return target.request(`/v1/surveys/${surveyId}/responses`, {
    method: "POST",
    headers: { ...jsonHeaders, ...headers },
    body: JSON.stringify(body),
  });
}

/** An answer sent from the socket address `ip`: the client IP the API sees (local mode). */
function answerFrom(ip: string, target: Target, surveyId: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request(
      `${target.url}/v1/surveys/${surveyId}/responses`,
      { method: "POST", localAddress: ip, headers: jsonHeaders },
      (res) => {
        res.resume().on("end", () => resolve(res.statusCode!));
      },
    );
    sent.on("error", reject).end(JSON.stringify(body));
  });
}

/** Every item in the table as JSON text, whoever wrote it. */
async function everyItem(): Promise<string> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new ScanCommand({ TableName: tableName(), ExclusiveStartKey: startKey, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return JSON.stringify(items);
}

async function storedAnswers(surveyId: string): Promise<{ items: number; count: number }> {
  const { Items = [] } = await documentClient().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": `SURVEY#${surveyId}` },
      ConsistentRead: true,
    }),
  );
  return { items: Items.filter((i) => String(i.SK).startsWith("ANSWER#")).length, count: Items.find((i) => i.SK === "META")?.answerCount };
}

/** The answer counters of the current windows (as the node target's loopback client). */
async function rateCounts(surveyId: string): Promise<{ perIp: number; perSurvey: number }> {
  // A survey's counters live in its own counter partition (data/keys.ts), per IP pseudonym in the sort key.
  const count = async (skPrefix: string) => {
    const { Items = [] } = await documentClient().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues: { ":pk": `RATE#SURVEY#${surveyId}`, ":prefix": skPrefix },
        ConsistentRead: true,
      }),
    );
    return Items.reduce((sum, item) => sum + Number(item.count ?? 0), 0);
  };
  return {
    perIp: await count(`WINDOW#answer-ip#${ipPseudonym("127.0.0.1")}#`),
    perSurvey: await count("WINDOW#answer-survey#"),
  };
}

describe("surveys over HTTP", () => {
  let target: Target;
  before(async () => (target = await app()));
  after(() => target.close());

  test("create is idempotent: one open survey per user, even under concurrent calls", async () => {
    const owner = `owner-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => target.request("/v1/surveys", { method: "POST", headers: as(owner) })),
    );
    const ids = new Set(results.map((r) => JSON.parse(r.body).survey_id));
    assert.equal(ids.size, 1);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
    const [id] = ids;
    const created = results.find((r) => r.status === 201)!;
    assert.equal(JSON.parse(created.body).survey_url, `https://remirai.test/s/${id}`);
    assert.equal(created.headers.location, `https://remirai.test/api/v1/surveys/${id}`, "absolute, from PUBLIC_BASE_URL");
  });

  test("creating a survey needs a signed-in user", async () => {
    const res = await target.request("/v1/surveys", { method: "POST" });
    assert.equal(res.status, 401);
  });

  test("anyone can fetch the questions; the answer is cacheable with an ETag", async () => {
    const id = await createSurvey(target, `owner-${randomUUID()}`);
    const res = await target.request(`/api/v1/surveys/${id}`);
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.question_set.version, "v1");
    assert.equal(body.question_set.adjectives.options.length, 56);
    assert.equal(body.question_set.ratings.items.length, 10);
    assert.match(String(res.headers["cache-control"]), /^public, max-age=300, s-maxage=86400/);
    const again = await target.request(`/v1/surveys/${id}`, { headers: { "if-none-match": String(res.headers.etag) } });
    assert.equal(again.status, 304);
    assert.equal((await target.request("/v1/surveys/does-not-exist")).status, 404);
  });

  test("three answers, a duplicate, an invalid one; then the summary for owner and stranger", async () => {
    // Prepare
    const owner = `owner-${randomUUID()}`;
    const id = await createSurvey(target, owner);

    // Act
    const accepted = await Promise.all(["fp-alpha-1", "fp-bravo-2", "fp-charlie-3"].map((fp) => answer(target, id, validAnswer(fp))));
    const duplicate = await answer(target, id, validAnswer("fp-bravo-2"));
    const invalid = await answer(target, id, {
      fingerprint: "fp-delta-4",
      answers: { adjectives: ["kind"], ratings: { outgoing: 8 }, texts: { strength: "x".repeat(501) }, mood: "?" },
    });
    const ownerView = await target.request(`/v1/surveys/${id}/summary`, { headers: as(owner) });
    const strangerView = await target.request(`/v1/surveys/${id}/summary`, { headers: as("someone-else") });

    // Assess
    assert.deepEqual(
      accepted.map((r) => r.status),
      [201, 201, 201],
    );
    assert.equal(duplicate.status, 409);
    assert.equal(JSON.parse(duplicate.body).error.code, "duplicate_answer");
    assert.equal(invalid.status, 400);
    const fields = JSON.parse(invalid.body).error.fields.map((f: { path: string }) => f.path);
    for (const path of [
      "answers.adjectives",
      "answers.ratings.outgoing",
      "answers.ratings.reserved",
      "answers.texts.strength",
      "answers",
    ]) {
      assert.ok(fields.includes(path), `${path} listed in ${fields}`);
    }
    assert.deepEqual(await storedAnswers(id), { items: 3, count: 3 });

    assert.equal(ownerView.status, 200);
    const summary = JSON.parse(ownerView.body);
    assert.equal(summary.answer_count, 3);
    assert.equal(summary.aggregates.adjectives[0].count, 3);
    assert.ok(summary.aggregates.traits.openness.mean >= 1);
    assert.doesNotMatch(ownerView.body, /fp-alpha|Listening|example\.com/, "no single answer, text or fingerprint is shown");
    // Someone else's survey is private to them: it does not exist for the stranger.
    assert.equal(strangerView.status, 404);
  });

  test("the summary shows counts only until there are three answers", async () => {
    const owner = `owner-${randomUUID()}`;
    const id = await createSurvey(target, owner);
    await answer(target, id, validAnswer("fp-one-1111"));
    const res = await target.request(`/v1/surveys/${id}/summary`, { headers: as(owner) });
    assert.deepEqual(JSON.parse(res.body), { answer_count: 0, answers_needed: 2, round: 0, changes_waiting: 1, aggregates: null });
  });

  test("the owner answers only through /self, which feeds the Johari window", async () => {
    const owner = `owner-${randomUUID()}`;
    const id = await createSurvey(target, owner);
    const own = await answer(target, id, validAnswer("fp-owner-self"), as(owner));
    assert.equal(own.status, 403);
    const selfBody = JSON.stringify({ answers: { adjectives: ["kind", "shy", "logical", "quiet", "tense"] } });
    const self = await target.request(`/v1/surveys/${id}/self`, {
      method: "PUT",
      headers: { ...jsonHeaders, ...as(owner) },
      body: selfBody,
    });
    assert.equal(self.status, 200);
    assert.deepEqual(JSON.parse(self.body), { survey_id: id, adjectives: ["kind", "shy", "logical", "quiet", "tense"], ratings: null });
    const stranger = await target.request(`/v1/surveys/${id}/self`, {
      method: "PUT",
      headers: { ...jsonHeaders, ...as("intruder") },
      body: selfBody,
    });
    assert.equal(stranger.status, 404);
    const missing = await target.request(`/v1/surveys/nope/self`, {
      method: "PUT",
      headers: { ...jsonHeaders, ...as(owner) },
      body: selfBody,
    });
    assert.equal(missing.status, 404);
    for (const fp of ["fp-a-000001", "fp-b-000002", "fp-c-000003"]) await answer(target, id, validAnswer(fp));
    const johari = JSON.parse((await target.request(`/v1/surveys/${id}/summary`, { headers: as(owner) })).body).aggregates.johari;
    assert.deepEqual(johari.arena, ["kind"]);
    assert.deepEqual(johari.facade.sort(), ["logical", "quiet", "shy", "tense"]);
    assert.deepEqual(johari.blind_spot.sort(), ["brave", "calm", "wise", "witty"]);
    assert.deepEqual(await storedAnswers(id), { items: 3, count: 3 });
  });

  test("an answer to a survey that does not exist is 404 and stores nothing, not even a rate-limit count", async () => {
    // Prepare
    const id = randomBytes(16).toString("base64url");

    // Act
    const res = await answer(target, id, validAnswer("fp-ghost-1"));

    // Assess
    assert.equal(res.status, 404);
    assert.deepEqual(await storedAnswers(id), { items: 0, count: undefined });
    assert.deepEqual(await rateCounts(id), { perIp: 0, perSurvey: 0 });
  });

  test("two concurrent answers with one fingerprint: exactly one stored, count matches (20 rounds)", async () => {
    const id = await createSurvey(target, `owner-${randomUUID()}`);
    const heavy = await app({ ANSWERS_PER_IP_PER_HOUR: "0", ANSWERS_PER_SURVEY_PER_MINUTE: "0" });
    try {
      for (let round = 0; round < 20; round++) {
        const fp = `fp-race-${round}-xyz`;
        const statuses = (await Promise.all([answer(heavy, id, validAnswer(fp)), answer(heavy, id, validAnswer(fp))]))
          .map((r) => r.status)
          .sort();
        assert.deepEqual(statuses, [201, 409], `round ${round}`);
        assert.deepEqual(await storedAnswers(id), { items: round + 1, count: round + 1 });
      }
    } finally {
      await heavy.close();
    }
  });
});

describe("answer rate limits", () => {
  test("per client IP per survey per hour; X-Forwarded-For does not reset it", async () => {
    const target = await app({ ANSWERS_PER_IP_PER_HOUR: "2", ANSWERS_PER_SURVEY_PER_MINUTE: "100" });
    try {
      const id = await createSurvey(target, `owner-${randomUUID()}`);
      assert.equal((await answer(target, id, validAnswer("fp-ip-1-aaaa"))).status, 201);
      assert.equal((await answer(target, id, validAnswer("fp-ip-2-aaaa"), { "x-forwarded-for": "198.51.100.7" })).status, 201);
      const third = await answer(target, id, validAnswer("fp-ip-3-aaaa"), { "x-forwarded-for": "203.0.113.99" });
      assert.equal(third.status, 429);
      assert.deepEqual(JSON.parse(third.body).error.code, "rate_limited");
      assert.deepEqual(JSON.parse(third.body).error.details, { limit: "answers_per_ip" });
      const retryAfter = Number(third.headers["retry-after"]);
      assert.ok(retryAfter >= 1 && retryAfter <= 3600);
      assert.deepEqual(await storedAnswers(id), { items: 2, count: 2 });
    } finally {
      await target.close();
    }
  });

  test("per survey per minute", async () => {
    const target = await app({ ANSWERS_PER_IP_PER_HOUR: "100", ANSWERS_PER_SURVEY_PER_MINUTE: "2" });
    try {
      const id = await createSurvey(target, `owner-${randomUUID()}`);
      for (const fp of ["fp-s-1-aaaa", "fp-s-2-aaaa"]) assert.equal((await answer(target, id, validAnswer(fp))).status, 201);
      const third = await answer(target, id, validAnswer("fp-s-3-aaaa"));
      assert.equal(third.status, 429);
      assert.deepEqual(JSON.parse(third.body).error.code, "rate_limited");
      assert.deepEqual(JSON.parse(third.body).error.details, { limit: "answers_per_survey" });
      assert.ok(Number(third.headers["retry-after"]) <= 60);
    } finally {
      await target.close();
    }
  });

  test("refused answers use up no allowance: duplicates and the owner's own answer count nothing", async () => {
    // Prepare
    const target = await app({ ANSWERS_PER_IP_PER_HOUR: "2", ANSWERS_PER_SURVEY_PER_MINUTE: "100" });
    try {
      const owner = `owner-${randomUUID()}`;
      const id = await createSurvey(target, owner);

      // Act
      const first = await answer(target, id, validAnswer("fp-dup-1-aaaa"));
      const duplicates = [await answer(target, id, validAnswer("fp-dup-1-aaaa")), await answer(target, id, validAnswer("fp-dup-1-aaaa"))];
      const own = await answer(target, id, validAnswer("fp-dup-own-a"), as(owner));
      const counted = await rateCounts(id);
      const second = await answer(target, id, validAnswer("fp-dup-2-aaaa"));
      const third = await answer(target, id, validAnswer("fp-dup-3-aaaa"));
      const duplicatePastLimit = await answer(target, id, validAnswer("fp-dup-1-aaaa"));

      // Assess
      assert.equal(first.status, 201);
      assert.deepEqual(
        duplicates.map((r) => r.status),
        [409, 409],
      );
      assert.equal(own.status, 403);
      assert.deepEqual(counted, { perIp: 1, perSurvey: 1 }, "only the accepted answer was counted");
      assert.equal(second.status, 201, "the friend's second answer still fits the allowance");
      assert.equal(third.status, 429);
      assert.equal(duplicatePastLimit.status, 429, "past the limit a duplicate learns nothing more");
      assert.deepEqual(await storedAnswers(id), { items: 2, count: 2 });
      assert.deepEqual(await rateCounts(id), { perIp: 2, perSurvey: 2 });
    } finally {
      await target.close();
    }
  });

  test("neither raw IPs nor raw fingerprints are stored", async () => {
    // Prepare: a fingerprint and a client address no other test uses (the answer's socket is
    // bound to it: any 127.x.y.z is this machine).
    const target = await app();
    try {
      const id = await createSurvey(target, `owner-${randomUUID()}`);
      const fingerprint = `fp-private-${randomUUID()}`;
      const ip = `127.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(2, 255)}`;
      // Act
      assert.equal(await answerFrom(ip, target, id, validAnswer(fingerprint)), 201);
      // Assess: neither raw value is anywhere in the table, and their keyed hashes are, so
      // the answer and its per-IP count were written and this looked at them.
      const dump = await everyItem();
      assert.ok(!dump.includes(fingerprint), "the raw fingerprint is stored");
      assert.ok(!dump.includes(ip), "the raw client IP is stored");
      assert.ok(dump.includes(fingerprintHash(id, fingerprint)), "the answer is keyed by the fingerprint's HMAC");
      assert.ok(dump.includes(ipPseudonym(ip)), "the per-IP limit counts the address's pseudonym");
    } finally {
      await target.close();
    }
  });
});
