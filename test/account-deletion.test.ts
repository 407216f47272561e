/**
 * `DELETE /v1/me` against DynamoDB Local and fauxqs's S3, with real personas made by the
 * saga's workers and the deletion finished by the lifecycle worker through its queue: at
 * once the account's token is refused (in any process), its card and portrait URL are 404;
 * once the job ends, a full read of the table and of the bucket finds nothing that names
 * the user, their surveys, persona or chats, and the other user's data is intact but for
 * their chat with the deleted persona, which is read-only.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createApi } from "../backend/api/index.ts";
import { issueAppToken } from "../backend/identity/tokens.ts";
import { chatWith, eventually, jobEnded, keyOf, listBucket, mentions, publicOwner, scanAll, type Item } from "./support/lifecycle.ts";
import { jobHandler } from "../backend/workers/job-handler.ts";
import { as, ownerWithAnswers, quiet, receiveSteps, sagaStack, type SagaStack } from "./support/saga.ts";
import { nodeTarget } from "./support/targets.ts";

let stack: SagaStack;
const bucket = `deletion-${randomUUID().slice(0, 8)}`;

before(async () => {
  // Ten items per request: this account is far larger, so its deletion goes through the queue.
  stack = await sagaStack({ MEDIA_BUCKET: bucket, DELETION_INLINE_ITEMS: "10", DELETION_RECHECK_SECONDS: "0" });
});
after(() => stack?.close());

describe("deleting an account", () => {
  test("at once hidden and refused; after the background job nothing names the user, the other user's data intact", async () => {
    // Prepare: Alice (to be deleted) and Bob, each with a survey, answers, own picks and a public persona.
    const api = stack.target;
    const alice = await publicOwner(api);
    const bob = await publicOwner(api);
    const aliceOwnChat = await chatWith(api, alice.uid, "me", 2);
    const aliceWithBob = await chatWith(api, alice.uid, bob.personaId, 2);
    const bobWithAlice = await chatWith(api, bob.uid, alice.personaId, 3);
    const bobOwnChat = await chatWith(api, bob.uid, "me", 1);
    const { token } = await issueAppToken({ uid: alice.uid, email: "alice@example.com" }, stack.config);
    const aliceIds = [alice.uid, alice.surveyId, alice.personaId, aliceOwnChat, aliceWithBob];
    const tableBefore = await scanAll(stack.config.tableName);
    const bucketBefore = await listBucket(bucket);
    const othersBefore = tableBefore.filter((i) => !mentions(i, aliceIds));
    const aliceBefore = tableBefore.filter((i) => mentions(i, aliceIds));
    assert.ok(
      aliceBefore.some((i) => String(i.PK).startsWith("RATE#USER#")),
      "Alice has rate-limit counters",
    );
    assert.ok(
      aliceBefore.some((i) => String(i.PK).startsWith("RATE#SURVEY#")),
      "Alice's survey has answer counters",
    );
    assert.ok(
      aliceBefore.some((i) => String(i.SK).startsWith("ROUND#")),
      "Alice's survey has a published round",
    );
    assert.ok(
      aliceBefore.some((i) => typeof i.receiptHash === "string"),
      "her friends' answers carry their receipts' hashes",
    );
    assert.equal((await api.request("/v1/me", { headers: { authorization: `Bearer ${token}` } })).status, 200);

    // Act
    const deleted = await api.request("/v1/me", { method: "DELETE", headers: as(alice.uid) });
    const meAfter = await api.request("/v1/me", { headers: { authorization: `Bearer ${token}` } });
    const elsewhere = await nodeTarget(createApi(stack.config, { logger: quiet }));
    const meElsewhere = await elsewhere.request("/v1/me", { headers: { authorization: `Bearer ${token}` } });
    await elsewhere.close();
    const headerAfter = await api.request("/v1/personas/me", { headers: as(alice.uid) });
    const card = await api.request(`/v1/personas/${alice.personaId}/card`);
    const portrait = await fetch(alice.portraitUrl);
    await jobEnded(stack.config.tableName, "account", alice.uid);

    // Assess: at once
    assert.equal(deleted.status, 202, deleted.body);
    assert.deepEqual(JSON.parse(deleted.body), { status: "deleting" });
    assert.equal(meAfter.status, 401);
    assert.equal(JSON.parse(meAfter.body).error.code, "account_deleted");
    assert.equal(meElsewhere.status, 401, "another process refuses the token too");
    assert.equal(headerAfter.status, 401, "a local-mode caller with the deleted uid too");
    assert.equal(card.status, 404);
    assert.equal(portrait.status, 404, "the public portrait URL is dead");

    // Assess: once the job ended, a full read of the table and the bucket
    const tableAfter = await scanAll(stack.config.tableName);
    const bucketAfter = await listBucket(bucket);
    const naming = tableAfter.filter((i) => mentions(i, aliceIds));
    assert.deepEqual(naming.map(keyOf), [], "no item names Alice, her survey, persona or chats");
    assert.deepEqual(
      bucketAfter.filter((k) => k.includes(alice.personaId)),
      [],
      "no media object of Alice's persona",
    );
    assert.ok(
      bucketAfter.some((k) => k.includes(bob.personaId)),
      "Bob's portraits stay",
    );
    const afterKeys = new Set(tableAfter.map(keyOf));
    assert.deepEqual(
      othersBefore.map(keyOf).filter((k) => !afterKeys.has(k)),
      [],
      "every item that did not name Alice is still there",
    );
    const left = tableAfter.filter((i) => !othersBefore.some((o) => keyOf(o) === keyOf(i)));
    assert.deepEqual(
      left.map((i) => String(i.PK).replace(/#.*/, "#…")).sort(),
      ["REVOKED#…", "USER#…"],
      "all that is new: the revocation (a keyed hash, TTL'd) and Bob's chat with Alice's persona, closed",
    );
    const revoked = left.find((i) => String(i.PK).startsWith("REVOKED#")) as Item & { expiresAt: number };
    assert.ok(revoked.expiresAt <= Date.now() / 1000 + stack.config.jwtTtlSeconds + 1, "kept no longer than a token lives");

    // Bob's chat with Alice's persona: history readable, read-only; his other data untouched.
    const bobChats = JSON.parse((await api.request("/v1/chats", { headers: as(bob.uid) })).body).chats;
    const closed = bobChats.find((c: { chat_id: string }) => c.chat_id === bobWithAlice);
    assert.deepEqual([closed.persona_id, closed.read_only], [null, true]);
    const history = await api.request(`/v1/chats/${bobWithAlice}/messages`, { headers: as(bob.uid) });
    assert.equal(JSON.parse(history.body).messages.length, 7, "the greeting and three turns");
    const send = await api.request(`/v1/chats/${bobWithAlice}/messages`, { method: "POST", headers: as(bob.uid), body: '{"text":"hi?"}' });
    assert.equal(send.status, 409);
    assert.equal(JSON.parse(send.body).error.code, "persona_deleted");
    assert.equal(bobChats.find((c: { chat_id: string }) => c.chat_id === bobOwnChat).read_only, false);
    assert.equal((await api.request(`/v1/personas/${bob.personaId}/card`)).status, 200);

    // The same person signing up again later is a new account: a token issued after the
    // deletion is accepted (from the next whole second on: a token's `iat` counts seconds).
    await eventually("a token issued after the deletion is accepted", async () => {
      const fresh = await issueAppToken({ uid: alice.uid, email: "alice@example.com" }, stack.config);
      const me = await api.request("/v1/me", { headers: { authorization: `Bearer ${fresh.token}` } });
      return me.status === 404; // accepted, and no profile: nothing of the old account is left
    });

    console.log(
      JSON.stringify({
        deletion: {
          table_items_before: tableBefore.length,
          alice_items_before: aliceBefore.length,
          alice_items_by_kind: Object.fromEntries(
            Object.entries(Object.groupBy(aliceBefore, (i) => `${String(i.PK).replace(/#.*/, "")} ${String(i.SK).replace(/#.*/, "")}`)).map(
              ([kind, items]) => [kind, items!.length],
            ),
          ),
          table_items_after: tableAfter.length,
          alice_items_after: naming.length,
          bucket_objects_before: bucketBefore.length,
          alice_objects_before: bucketBefore.filter((k) => k.includes(alice.personaId)).length,
          bucket_objects_after: bucketAfter.length,
        },
      }),
    );
  });

  test("a small account is deleted inside the request", async () => {
    // Prepare
    const uid = `small-${randomUUID()}`;
    const created = await stack.target.request("/v1/surveys", { method: "POST", headers: as(uid) });
    const surveyId = JSON.parse(created.body).survey_id;

    // Act
    const deleted = await stack.target.request("/v1/me", { method: "DELETE", headers: as(uid) });

    // Assess: no job was left for the worker
    assert.equal(deleted.status, 200, deleted.body);
    assert.deepEqual(JSON.parse(deleted.body), { status: "deleted" });
    const left = (await scanAll(stack.config.tableName)).filter((i) => mentions(i, [uid, surveyId]));
    assert.deepEqual(left.map(keyOf), []);
    assert.equal((await stack.target.request(`/v1/surveys/${surveyId}`)).status, 404);
  });
});

describe("a deletion cut short", () => {
  let idle: SagaStack;
  before(async () => {
    // No workers: the test plays SQS and the worker; three items per request.
    idle = await sagaStack({ DELETION_INLINE_ITEMS: "3", DELETION_RECHECK_SECONDS: "0" }, { workers: false });
  });
  after(() => idle?.close());

  test("its queue message lost, the sweeper sends it again once its lease ran out, and the worker finishes it", async () => {
    // Prepare: the request deletes three items, queues the rest, and the message is lost.
    const { uid, surveyId } = await ownerWithAnswers(idle.target, 3);
    const deleted = await idle.target.request("/v1/me", { method: "DELETE", headers: as(uid) });
    assert.equal(deleted.status, 202);
    await receiveSteps(idle.config.lifecycleQueueUrl); // taken by a worker that died: invisible, never deleted
    const handle = jobHandler(idle.domains.lifecycle.continueJob);

    // Act
    const early = await idle.domains.lifecycle.sweep();
    const resent = await idle.domains.lifecycle.sweep(new Date(Date.now() + 16 * 60_000));
    let runs = 0;
    while ((await scanAll(idle.config.tableName)).some((i) => String(i.PK).startsWith("JOB#account#"))) {
      const result = await handle(await receiveSteps(idle.config.lifecycleQueueUrl));
      assert.deepEqual(result.batchItemFailures, []);
      runs += 1;
    }

    // Assess
    assert.equal(early, 0, "a job within its lease is not the sweeper's");
    assert.equal(resent, 1);
    assert.ok(runs >= 1);
    const left = (await scanAll(idle.config.tableName)).filter((i) => mentions(i, [uid, surveyId]));
    assert.deepEqual(left.map(keyOf), []);
  });
});
