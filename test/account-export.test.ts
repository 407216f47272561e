/**
 * `GET /v1/me/export` over HTTP against DynamoDB Local, with a persona made by the saga's
 * workers: one JSON document of everything about the caller (profile, surveys with their
 * aggregates, persona and versions, chats and messages, feedback), streamed in chunks, never
 * a friend's own answer nor someone else's chat, limited per day with Retry-After.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { plantedPhrase } from "./support/social.ts";
import { chatWith, publicOwner } from "./support/lifecycle.ts";
import { as, ownerWithAnswers, sagaStack, type SagaStack } from "./support/saga.ts";

let stack: SagaStack;
before(async () => (stack = await sagaStack({ EXPORTS_PER_DAY: "2", CHAT_MESSAGES_PER_MINUTE: "0" })));
after(() => stack?.close());

/** The export as the client receives it: status, headers and the body's chunks. */
async function exportOf(uid: string) {
  const res = await stack.target.open("/v1/me/export", { headers: as(uid) });
  const chunks: string[] = [];
  for await (const chunk of res.chunks) chunks.push(chunk);
  return { status: res.status, headers: res.headers, chunks, body: chunks.join("") };
}

describe("GET /v1/me/export", () => {
  test("everything about the caller in one JSON document, streamed; no friend's answer, nobody else's chat", async () => {
    // Prepare: friends' answers carry a phrase that only their own answers hold.
    const alice = await publicOwner(stack.target);
    const phrase = plantedPhrase();
    const survey = await ownerWithAnswers(stack.target, 0);
    for (let i = 0; i < 3; i++) {
      const res = await stack.target.request(`/v1/surveys/${survey.surveyId}/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          fingerprint: `export-friend-${i}-${survey.uid}`,
          answers: {
            adjectives: ["kind", "calm", "brave", "wise", "witty"],
            ratings: {
              outgoing: 5,
              critical: 2,
              dependable: 6,
              anxious: 3,
              open: 6,
              reserved: 3,
              warm: 6,
              careless: 2,
              stable: 5,
              conventional: 2,
            },
            texts: { strength: `${phrase} ${i}` },
          },
        }),
      });
      assert.equal(res.status, 201, res.body);
    }
    const long = await chatWith(stack.target, alice.uid, "me", 51);
    const short = await chatWith(stack.target, alice.uid, "me", 1);
    const bob = await publicOwner(stack.target);
    const bobsChat = await chatWith(stack.target, bob.uid, alice.personaId, 1);

    // Act
    const exported = await exportOf(alice.uid);
    const friendsView = await exportOf(survey.uid);

    // Assess
    assert.equal(exported.status, 200);
    assert.match(String(exported.headers["content-type"]), /^application\/json/);
    assert.match(String(exported.headers["content-disposition"]), /^attachment; filename="remirai-export-\d{4}-\d{2}-\d{2}\.json"$/);
    assert.equal(exported.headers["cache-control"], "no-store");
    assert.equal(exported.headers["content-length"], undefined, "streamed: its length is not known up front");
    assert.equal(exported.headers["transfer-encoding"], "chunked");
    const doc = JSON.parse(exported.body);
    assert.deepEqual([doc.format, doc.version], ["remirai-export", 1]);
    assert.equal(doc.profile.user_id, alice.uid);
    assert.equal(doc.surveys.length, 1);
    assert.equal(doc.surveys[0].survey_id, alice.surveyId);
    assert.equal(doc.surveys[0].summary.answer_count, 3);
    assert.equal(doc.surveys[0].summary.round, 1, "what the owner's summary shows: the published round");
    assert.equal(doc.surveys[0].summary.aggregates.answer_count, 3);
    assert.deepEqual(doc.surveys[0].self_answers.adjectives, ["kind", "calm", "brave", "wise", "witty"]);
    assert.equal(doc.persona.persona_id, alice.personaId);
    assert.equal(doc.persona.public, true);
    assert.equal(doc.persona.versions.length, 1);
    assert.equal(doc.persona.versions[0].card.name.length > 0, true);
    assert.deepEqual(doc.chats.map((c: { chat_id: string }) => c.chat_id).sort(), [long, short].sort());
    const messages = Object.fromEntries(doc.chats.map((c: { chat_id: string; messages: unknown[] }) => [c.chat_id, c.messages.length]));
    assert.deepEqual(messages, { [long]: 103, [short]: 3 }, "every message (the greeting first), across pages");
    assert.ok(!exported.body.includes(bobsChat), "Bob's chat with Alice's persona is Bob's");
    assert.deepEqual(doc.feedback, []);
    const friends = JSON.parse(friendsView.body);
    assert.equal(friends.surveys[0].summary.aggregates.answer_count, 3);
    assert.ok(!friendsView.body.includes(phrase), "no friend's own words");
    assert.ok(!friendsView.body.includes("export-friend-"), "no fingerprint");
  });

  test("a caller with nothing gets an empty document; past the daily allowance: 429 with Retry-After", async () => {
    // Prepare
    const uid = `empty-${Date.now()}`;

    // Act
    const first = await exportOf(uid);
    const second = await exportOf(uid);
    const third = await stack.target.request("/v1/me/export", { headers: as(uid) });

    // Assess
    assert.equal(first.status, 200);
    const doc = JSON.parse(first.body);
    assert.deepEqual([doc.profile, doc.surveys, doc.persona, doc.chats], [null, [], null, []]);
    assert.equal(second.status, 200);
    assert.equal(third.status, 429);
    assert.equal(JSON.parse(third.body).error.code, "rate_limited");
    assert.deepEqual(JSON.parse(third.body).error.details, { limit: "exports_per_day" });
    const retryAfter = Number(third.headers["retry-after"]);
    assert.ok(retryAfter >= 1 && retryAfter <= 86_400);
  });

  test("the export needs a signed-in caller", async () => {
    assert.equal((await stack.target.request("/v1/me/export")).status, 401);
  });
});
