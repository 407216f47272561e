/**
 * A persona's portrait and deletion over HTTP, against DynamoDB Local and fauxqs's S3 (which
 * serves the bucket as CloudFront's /media/* does): a public persona's portrait is cacheable,
 * a switch to private kills its URL, the owner still sees it through the API, and
 * `DELETE /v1/personas/me` removes the persona (its card, portrait objects, events) while
 * chats with it, the owner's and other people's, become read-only.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  chatWith,
  eventually,
  jobEnded,
  keyOf,
  listBucket,
  mentions,
  personaWhenReady,
  publicOwner,
  scanAll,
} from "./support/lifecycle.ts";
import { as, sagaStack, type SagaStack } from "./support/saga.ts";

let stack: SagaStack;
const bucket = `persona-life-${randomUUID().slice(0, 8)}`;

before(async () => {
  stack = await sagaStack({ MEDIA_BUCKET: bucket, MEDIA_PUBLIC_MAX_AGE_SECONDS: "600" });
});
after(() => stack?.close());

const visibility = (uid: string, isPublic: boolean) =>
  stack.target.request("/v1/personas/me/visibility", { method: "PUT", headers: as(uid), body: JSON.stringify({ public: isPublic }) });

describe("a private portrait is private", () => {
  test("public: cacheable URL; private: that URL is 404, the owner still sees it through the API; public again: a new URL", async () => {
    // Prepare
    const owner = await publicOwner(stack.target);
    const publicView = await personaWhenReady(stack.target, owner.uid);
    const served = await fetch(owner.portraitUrl);

    // Act
    assert.equal((await visibility(owner.uid, false)).status, 200);
    const afterPrivate = await fetch(owner.portraitUrl);
    const privateView = await personaWhenReady(stack.target, owner.uid);
    const own = await stack.target.request("/v1/personas/me/portrait", { headers: as(owner.uid) });
    const stranger = await stack.target.request("/v1/personas/me/portrait", { headers: as(`stranger-${randomUUID()}`) });
    assert.equal((await visibility(owner.uid, true)).status, 200);
    const card = JSON.parse((await stack.target.request(`/v1/personas/${owner.personaId}/card`)).body);

    // Assess
    assert.equal(served.status, 200);
    assert.equal(served.headers.get("cache-control"), "public, max-age=600, immutable");
    assert.equal(publicView.illustration_url, owner.portraitUrl, "the owner sees the public URL while public");
    assert.equal(afterPrivate.status, 404, "the old URL is dead once private");
    assert.match(privateView.illustration_url, /\/api\/v1\/personas\/me\/portrait$/);
    assert.equal(own.status, 200);
    assert.equal(own.headers["cache-control"], "private, no-store");
    assert.match(own.body, /^<svg /);
    assert.equal(stranger.status, 404, "someone else's own-portrait route is their own (none)");
    assert.notEqual(card.illustration_url, owner.portraitUrl, "a new publication, a new unguessable URL");
    assert.equal((await fetch(card.illustration_url)).status, 200);
    assert.equal((await fetch(owner.portraitUrl)).status, 404, "the first URL stays dead");
    const objects = (await listBucket(bucket)).filter((k) => k.includes(owner.personaId));
    assert.deepEqual(objects.map((k) => k.split("/")[0]).sort(), ["private", "public"], "one original, one public copy");
  });

  test("a regenerated public persona shows its new portrait; the old version's objects are gone", async () => {
    // Prepare
    const owner = await publicOwner(stack.target);

    // Act
    assert.equal((await stack.target.request("/v1/personas/me", { method: "POST", headers: as(owner.uid) })).status, 202);
    let view = await personaWhenReady(stack.target, owner.uid);
    // The image step publishes the new portrait, then deletes the old one, just after the saga is ready.
    let objects: string[] = [];
    await eventually("the new portrait is published and the old one gone", async () => {
      view = await personaWhenReady(stack.target, owner.uid);
      objects = (await listBucket(bucket)).filter((k) => k.includes(owner.personaId));
      return !view.illustration_url.endsWith("/v1/personas/me/portrait") && objects.length === 2;
    });

    // Assess
    assert.equal(view.version, 2);
    assert.notEqual(view.illustration_url, owner.portraitUrl);
    assert.equal((await fetch(view.illustration_url)).status, 200);
    assert.equal((await fetch(owner.portraitUrl)).status, 404);
    assert.deepEqual(objects.map((k) => k.split("/")[0]).sort(), ["private", "public"], "the new original and its public copy only");
    assert.ok(view.illustration_url.endsWith(objects.find((k) => k.startsWith("public/"))!));
  });
});

describe("DELETE /v1/personas/me", () => {
  test("the persona, its events, public id and portraits go; chats with it stay readable and take no more messages", async () => {
    // Prepare
    const alice = await publicOwner(stack.target);
    const bob = await publicOwner(stack.target);
    const aliceOwn = await chatWith(stack.target, alice.uid, "me", 1);
    const bobWithAlice = await chatWith(stack.target, bob.uid, alice.personaId, 2);

    // Act
    const deleted = await stack.target.request("/v1/personas/me", { method: "DELETE", headers: as(alice.uid) });
    await jobEnded(stack.config.tableName, "persona", alice.uid);

    // Assess
    assert.equal(deleted.status, 200, deleted.body);
    assert.equal((await stack.target.request(`/v1/personas/${alice.personaId}/card`)).status, 404);
    assert.equal((await fetch(alice.portraitUrl)).status, 404);
    assert.deepEqual(
      (await listBucket(bucket)).filter((k) => k.includes(alice.personaId)),
      [],
    );
    const naming = (await scanAll(stack.config.tableName)).filter((i) => mentions(i, [alice.personaId]));
    assert.deepEqual(naming.map(keyOf), [], "nothing names the persona any more");
    const view = JSON.parse((await stack.target.request("/v1/personas/me", { headers: as(alice.uid) })).body);
    assert.deepEqual([view.status, view.persona_id, view.answers], ["pending", null, 3], "the survey stays");
    // Each chat opened with the persona's greeting, then its turns.
    for (const [uid, chatId, messages] of [
      [bob.uid, bobWithAlice, 5],
      [alice.uid, aliceOwn, 3],
    ] as const) {
      const history = JSON.parse((await stack.target.request(`/v1/chats/${chatId}/messages`, { headers: as(uid) })).body);
      assert.equal(history.messages.length, messages, "history stays readable");
      const send = await stack.target.request(`/v1/chats/${chatId}/messages`, {
        method: "POST",
        headers: as(uid),
        body: '{"text":"still there?"}',
      });
      assert.equal(send.status, 409);
      assert.equal(JSON.parse(send.body).error.code, "persona_deleted");
    }
    assert.equal((await stack.target.request(`/v1/personas/${bob.personaId}/card`)).status, 200, "Bob's persona is untouched");
  });

  test("a new persona after the deletion gets a new public id; the one-shot chat starts afresh", async () => {
    // Prepare
    const alice = await publicOwner(stack.target);
    const oneShot = () =>
      stack.target.request("/v1/personas/me/chat", { method: "POST", headers: as(alice.uid), body: '{"text":"hello"}' });
    const firstChat = JSON.parse((await oneShot()).body).chat_id;
    assert.equal((await stack.target.request("/v1/personas/me", { method: "DELETE", headers: as(alice.uid) })).status, 200);

    // Act
    assert.equal((await stack.target.request("/v1/personas/me", { method: "POST", headers: as(alice.uid) })).status, 202);
    const view = await personaWhenReady(stack.target, alice.uid);
    const again = await oneShot();

    // Assess
    assert.notEqual(view.persona_id, alice.personaId);
    assert.equal(again.status, 200, again.body);
    assert.notEqual(JSON.parse(again.body).chat_id, firstChat);
  });

  test("without a persona: 404", async () => {
    const res = await stack.target.request("/v1/personas/me", { method: "DELETE", headers: as(`nobody-${randomUUID()}`) });
    assert.equal(res.status, 404);
  });
});
