/**
 * Whose survey is this? The owner's display name, from sign-in (Google's `name` claim, or
 * local mode's `x-user-name`) or chosen with `PUT /v1/me`, is what friends see on the survey
 * page, what the offline persona is called, and what the scrubber removes from friends' text.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createProviders } from "../backend/ai/providers.ts";
import { createApi } from "../backend/api/index.ts";
import { startGoogleIssuer, type GoogleIssuer } from "./support/google-issuer.ts";
import { identityConfig, signInRequest } from "./support/identity.ts";
import { friendAnswer, quiet, sagaStack, type SagaStack } from "./support/saga.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

let issuer: GoogleIssuer;
const targets: Target[] = [];
before(async () => (issuer = await startGoogleIssuer()));
after(async () => {
  for (const target of targets) await target.close();
  await issuer.close();
});

async function serve(mode: "local" | "edge") {
  const config = identityConfig(mode, issuer, { GEMINI_API_KEY: "" });
  const target = await nodeTarget(createApi(config, { logger: quiet, ports: createProviders({}, quiet) }));
  targets.push(target);
  return { config, target };
}

const json = (body: string) => JSON.parse(body);
const ownerNameOf = async (target: Target, surveyId: string) => json((await target.request(`/v1/surveys/${surveyId}`)).body).owner_name;

/** Signs in with Google as `name` and returns what our edge function would forward. */
async function signIn(target: Target, sub: string, name: string) {
  const res = await target.request("/v1/auth/google", signInRequest(await issuer.idToken({ sub, name })));
  assert.equal(res.status, 200);
  const { token, user } = json(res.body);
  return { uid: user.user_id as string, edge: { "x-remirai-token": token as string, "x-user-uid": user.user_id as string } };
}

describe("the survey shows its owner's name", () => {
  test("edge mode: the name from Google sign-in is on the survey friends open", async () => {
    // Prepare
    const { target } = await serve("edge");
    const { edge } = await signIn(target, randomUUID(), "Aiko Tanaka");

    // Act
    const created = await target.request("/v1/surveys", { method: "POST", headers: edge });

    // Assess
    assert.equal(created.status, 201);
    assert.equal(await ownerNameOf(target, json(created.body).survey_id), "Aiko Tanaka");
  });

  test("local mode: x-user-name, percent-encoded UTF-8, names the owner", async () => {
    // Prepare
    const { target } = await serve("local");
    const headers = { "x-user-uid": `dev-${randomUUID()}`, "x-user-name": encodeURIComponent("田中 藍子") };

    // Act
    const me = await target.request("/v1/me", { headers });
    const created = await target.request("/v1/surveys", { method: "POST", headers });

    // Assess
    assert.equal(json(me.body).name, "田中 藍子");
    assert.equal(await ownerNameOf(target, json(created.body).survey_id), "田中 藍子");
  });

  test("local mode: a malformed x-user-name is refused like any bad identity header", async () => {
    // Prepare
    const { target } = await serve("local");
    const uid = `dev-${randomUUID()}`;

    // Act
    const answers = await Promise.all(
      ["%E0%A4%A", encodeURIComponent("a".repeat(61)), encodeURIComponent("evil\u202Eeman"), "%00", encodeURIComponent("<b>x</b>")].map(
        (name) => target.request("/v1/me", { headers: { "x-user-uid": uid, "x-user-name": name } }),
      ),
    );

    // Assess
    for (const res of answers) {
      assert.equal(res.status, 401);
      assert.equal(json(res.body).error.code, "unauthorized");
    }
  });
});

describe("PUT /v1/me", () => {
  test("the chosen name replaces the sign-in name, on the profile and the open survey, and survives the next sign-in", async () => {
    // Prepare
    const { target } = await serve("edge");
    const sub = randomUUID();
    const { edge } = await signIn(target, sub, "Aiko Tanaka");
    const surveyId = json((await target.request("/v1/surveys", { method: "POST", headers: edge })).body).survey_id;
    const etagBefore = (await target.request(`/v1/surveys/${surveyId}`)).headers.etag;

    // Act
    const changed = await target.request("/v1/me", {
      method: "PUT",
      headers: { ...edge, "content-type": "application/json" },
      body: JSON.stringify({ name: "  Ai  " }),
    });
    const again = await signIn(target, sub, "Aiko T. (Google)");
    const me = await target.request("/v1/me", { headers: again.edge });

    // Assess
    assert.equal(changed.status, 200);
    assert.equal(json(changed.body).name, "Ai");
    assert.equal(json(me.body).name, "Ai");
    const page = await target.request(`/v1/surveys/${surveyId}`);
    assert.equal(json(page.body).owner_name, "Ai");
    assert.notEqual(page.headers.etag, etagBefore, "a cached survey page is revalidated to the new name");
  });

  test("a name that is empty, too long, not plain text or not alone in the body is 400 naming the field", async () => {
    // Prepare
    const { target } = await serve("local");
    const headers = { "x-user-uid": `dev-${randomUUID()}`, "content-type": "application/json" };

    // Act
    const bodies = [
      { name: "   " },
      { name: "x".repeat(61) },
      { name: "a\u0000b" },
      { name: "<script>" },
      { name: 42 },
      { name: "Ok", admin: true },
    ];
    const answers = await Promise.all(
      bodies.map((body) => target.request("/v1/me", { method: "PUT", headers, body: JSON.stringify(body) })),
    );
    const unchanged = await target.request("/v1/me", { headers });

    // Assess
    for (const res of answers) {
      assert.equal(res.status, 400);
      assert.equal(json(res.body).error.code, "validation_failed");
    }
    assert.deepEqual(
      json(answers[0]!.body).error.fields.map((f: { path: string }) => f.path),
      ["name"],
    );
    assert.equal(json(unchanged.body).name, null);
  });

  test("without a caller it is 401", async () => {
    const { target } = await serve("local");
    const res = await target.request("/v1/me", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ai" }),
    });
    assert.equal(res.status, 401);
  });
});

describe("the owner's name reaches the persona, and leaves friends' text", () => {
  let stack: SagaStack;
  before(async () => (stack = await sagaStack()));
  after(() => stack.close());

  test("the offline persona is named after the owner; friends' quotes name them only as [name]", async () => {
    // Prepare
    const headers = { "x-user-uid": `owner-${randomUUID()}`, "x-user-name": "Aiko%20Tanaka", "content-type": "application/json" };
    const surveyId = json((await stack.target.request("/v1/surveys", { method: "POST", headers })).body).survey_id;
    for (let i = 0; i < 3; i++) {
      const answer = friendAnswer(`${surveyId}-friend-${i}`, `aiko always helps; Tanaka-san too. Aiko Tanaka is kind.`);
      await stack.target.request(`/v1/surveys/${surveyId}/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(answer),
      });
    }

    // Act
    await stack.target.request("/v1/personas/me", { method: "POST", headers });
    const deadline = AbortSignal.timeout(60_000);
    let view = json((await stack.target.request("/v1/personas/me", { headers })).body);
    while (view.status !== "ready" && view.status !== "failed" && !deadline.aborted) {
      await new Promise((r) => setTimeout(r, 25));
      view = json((await stack.target.request("/v1/personas/me", { headers })).body);
    }
    const material = await stack.domains.surveys.material(surveyId);

    // Assess
    assert.equal(view.status, "ready");
    assert.equal(view.card.name, "Aiko (mirror)");
    const quotes = Object.values(material.quotes).flat().join(" ");
    assert.doesNotMatch(quotes, /aiko|tanaka/i);
    assert.match(quotes, /\[name\]/);
  });
});
