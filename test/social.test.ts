/**
 * Sharing over HTTP against DynamoDB Local, with real personas made ready by the saga's
 * workers and the offline providers: visibility, public cards (404 alike for private,
 * unknown and anonymous), ETags, the Character Card V3 export against a schema of the
 * spec's field list, no friend's own words in any card, and chemistry between personas.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Ajv } from "ajv";
import { OfflineLLM } from "../backend/ai/offline.ts";
import { RATING_ITEMS, RATING_MAX, type Adjective, type Trait } from "../backend/surveys/questions.ts";
import { as, sagaStack, type SagaStack } from "./support/saga.ts";
import { charaCardV3Schema, plantedPhrase, socialTarget, startGeminiBlurbs, type GeminiBlurbs } from "./support/social.ts";
import type { Target } from "./support/targets.ts";

interface Owner {
  uid: string;
  surveyId: string;
  personaId: string;
  phrase: string;
}

/** Friends' 1–7 ratings that give exactly these trait means (reverse-keyed items mirrored). */
function ratingsFor(traits: Record<Trait, number>) {
  return Object.fromEntries(
    RATING_ITEMS.map((item) => [item.id, item.reversed ? RATING_MAX + 1 - traits[item.trait] : traits[item.trait]]),
  );
}

let stack: SagaStack;
let api: Target;
let alice: Owner, twin: Owner, bob: Owner, carol: Owner;

/** An owner whose three friends answer alike (one planted phrase each), and who picks their own adjectives. */
async function owner(traits: Record<Trait, number>, friends: Adjective[], self: Adjective[]): Promise<Owner> {
  const uid = `social-${randomUUID()}`;
  const phrase = plantedPhrase();
  const { survey_id } = JSON.parse((await api.request("/v1/surveys", { method: "POST", headers: as(uid) })).body);
  for (let i = 0; i < 3; i++) {
    const answer = {
      fingerprint: `${uid}-friend-${i}`,
      answers: { adjectives: friends, ratings: ratingsFor(traits), texts: { strength: `${phrase} (${i})`, moment: phrase } },
    };
    const res = await api.request(`/v1/surveys/${survey_id}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(answer),
    });
    assert.equal(res.status, 201, res.body);
  }
  const mine = await api.request(`/v1/surveys/${survey_id}/self`, {
    method: "PUT",
    headers: as(uid),
    body: JSON.stringify({ answers: { adjectives: self } }),
  });
  assert.equal(mine.status, 200, mine.body);
  assert.equal((await api.request("/v1/personas/me", { method: "POST", headers: as(uid) })).status, 202);
  return { uid, surveyId: survey_id, personaId: "", phrase };
}

/** Polls the owner's persona until it is ready (or the deadline passes). */
async function ready(o: Owner): Promise<Owner> {
  const deadline = AbortSignal.timeout(60_000);
  for (;;) {
    const view = JSON.parse((await api.request("/v1/personas/me", { headers: as(o.uid) })).body);
    if (view.status === "ready") return { ...o, personaId: view.persona_id };
    assert.notEqual(view.status, "failed", view.reason);
    if (deadline.aborted) throw new Error(`persona of ${o.uid} not ready before the deadline`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const get = (path: string, headers: Record<string, string> = {}) => api.request(path, { headers });
const setPublic = (o: Owner, value: unknown) =>
  api.request("/v1/personas/me/visibility", { method: "PUT", headers: as(o.uid), body: JSON.stringify({ public: value }) });
const calm = { extraversion: 4, agreeableness: 6, conscientiousness: 5, emotional_stability: 5, openness: 4 };

before(async () => {
  stack = await sagaStack();
  api = await socialTarget(stack.config, new OfflineLLM());
  const started = await Promise.all([
    owner(calm, ["kind", "warm", "witty", "calm", "brave"], ["kind", "warm", "witty", "patient", "wise"]),
    owner(calm, ["kind", "warm", "witty", "calm", "brave"], ["kind", "warm", "witty", "patient", "wise"]),
    owner(
      { extraversion: 7, agreeableness: 2, conscientiousness: 2, emotional_stability: 2, openness: 7 },
      ["bold", "energetic", "proud", "silly", "witty"],
      ["bold", "energetic", "proud", "tense", "shy"],
    ),
    owner(
      { extraversion: 2, agreeableness: 6, conscientiousness: 6, emotional_stability: 6, openness: 3 },
      ["quiet", "reflective", "patient", "kind", "wise"],
      ["quiet", "kind", "wise", "modest", "shy"],
    ),
  ]);
  [alice, twin, bob, carol] = await Promise.all([ready(started[0]), ready(started[1]), ready(started[2]), ready(started[3])]);
  for (const o of [alice, twin, carol]) assert.equal((await setPublic(o, true)).status, 200);
});
after(async () => {
  await api?.close();
  await stack?.close();
});

describe("visibility and public cards", () => {
  test("private by default: 404 to anonymous callers, to others and to the owner alike, with the same body as an unknown id", async () => {
    const bodies: { code: string; message: string; keys: string[] }[] = [];
    for (const [path, headers] of [
      [`/v1/personas/${bob.personaId}/card`, {}],
      [`/v1/personas/${bob.personaId}/card`, { "x-user-uid": alice.uid }],
      [`/v1/personas/${bob.personaId}/card?format=chara_card_v3`, { "x-user-uid": bob.uid }],
      ["/v1/personas/AAAAAAAAAAAAAAAAAAAAAA/card", {}],
      ["/v1/personas/not%20an%20id/card?format=chara_card_v3", {}],
    ] as const) {
      const res = await get(path, headers);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers["cache-control"], "no-store");
      const { error } = JSON.parse(res.body);
      bodies.push({ code: error.code, message: error.message, keys: Object.keys(error).sort() });
    }
    assert.ok(
      bodies.every((b) => JSON.stringify(b) === JSON.stringify(bodies[0])),
      JSON.stringify(bodies),
    );
  });

  test("the owner toggles: public → visible to anyone, private → 404, public again → visible", async () => {
    const path = `/v1/personas/${carol.personaId}/card`;
    assert.equal((await get(path)).status, 200);
    const off = await setPublic(carol, false);
    assert.deepEqual(JSON.parse(off.body), {
      persona_id: carol.personaId,
      public: false,
      card_url: `${stack.config.publicBaseUrl}/api${path}`,
    });
    assert.equal((await get(path)).status, 404);
    assert.equal((await get(path, { "x-user-uid": alice.uid })).status, 404);
    assert.equal(JSON.parse((await setPublic(carol, true)).body).public, true);
    assert.equal((await get(path)).status, 200);
  });

  test("the switch needs a signed-in owner with a persona and a boolean", async () => {
    assert.equal(
      (
        await api.request("/v1/personas/me/visibility", {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: '{"public":true}',
        })
      ).status,
      401,
    );
    assert.equal((await setPublic({ ...alice, uid: `nobody-${randomUUID()}` }, true)).status, 404);
    const bad = await setPublic(alice, "yes");
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).error.fields[0].path, "public");
  });

  test("the card: name, tagline, traits, arena, illustration, answer count, version; cacheable with an ETag", async () => {
    const res = await get(`/v1/personas/${alice.personaId}/card`);
    const card = JSON.parse(res.body);
    const view = JSON.parse((await get("/v1/personas/me", { "x-user-uid": alice.uid })).body);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(card).sort(), [
      "answer_count",
      "arena",
      "illustration_url",
      "name",
      "persona_id",
      "tagline",
      "traits",
      "version",
    ]);
    assert.deepEqual(
      [card.name, card.tagline, card.illustration_url, card.version],
      [view.card.name, view.card.tagline, view.illustration_url, 1],
    );
    assert.deepEqual(card.traits, calm);
    assert.deepEqual(card.arena, ["kind", "warm", "witty"]);
    assert.equal(card.answer_count, 3);
    assert.equal(res.headers["cache-control"], "public, max-age=60, s-maxage=300");
    assert.match(String(res.headers.etag), /^"[\w-]+"$/);
  });

  test("If-None-Match with the card's ETag → 304 without a body; another tag → 200", async () => {
    for (const query of ["", "?format=chara_card_v3"]) {
      const path = `/v1/personas/${alice.personaId}/card${query}`;
      const first = await get(path);
      const again = await get(path, { "if-none-match": String(first.headers.etag) });
      assert.equal(again.status, 304, path);
      assert.equal(again.body, "");
      assert.equal(again.headers.etag, first.headers.etag);
      assert.equal((await get(path, { "if-none-match": '"something-else"' })).status, 200);
    }
  });

  test("the Character Card V3 export validates against the spec's field list and carries our ids and the icon", async () => {
    const res = await get(`/v1/personas/${alice.personaId}/card?format=chara_card_v3`);
    const exported = JSON.parse(res.body);
    const validate = new Ajv({ allErrors: true, strict: true }).compile(charaCardV3Schema);
    assert.ok(validate(exported), JSON.stringify(validate.errors));
    const card = JSON.parse((await get(`/v1/personas/${alice.personaId}/card`)).body);
    assert.deepEqual(exported.data.extensions, { remirai: { persona_id: alice.personaId, version: 1 } });
    assert.deepEqual(exported.data.assets, [{ type: "icon", uri: card.illustration_url, name: "main", ext: "svg" }]);
    assert.deepEqual([exported.data.name, exported.data.character_version], [card.name, "1"]);
    assert.match(String(res.headers["content-disposition"]), new RegExp(`^attachment; filename="remirai-${alice.personaId}-v1\\.json"$`));
    const { assets: _assets, ...texts } = exported.data;
    assert.doesNotMatch(JSON.stringify(texts), /https?:|!\[|<[a-z/]/i, "card text is plain: no links, images or HTML");
    const unknownFormat = await get("/v1/personas/x/card?format=markdown");
    assert.equal(unknownFormat.status, 400);
    assert.deepEqual(
      JSON.parse(unknownFormat.body).error.fields.map((f: { path: string }) => f.path),
      ["format"],
    );
  });

  test("`me` is the caller's own card in any visibility, kept out of shared caches; anonymous is 401", async () => {
    // Act: bob's persona is private.
    const own = await get("/v1/personas/me/card", { "x-user-uid": bob.uid });
    const exported = await get("/v1/personas/me/card?format=chara_card_v3", { "x-user-uid": bob.uid });
    const anonymous = await get("/v1/personas/me/card");

    // Assess
    assert.equal(own.status, 200);
    assert.equal(JSON.parse(own.body).persona_id, bob.personaId);
    assert.equal(own.headers["cache-control"], "private, max-age=0");
    assert.equal(exported.status, 200);
    assert.deepEqual(JSON.parse(exported.body).data.extensions.remirai.persona_id, bob.personaId);
    assert.match(String(exported.headers["content-disposition"]), new RegExp(`filename="remirai-${bob.personaId}-v1\\.json"`));
    assert.equal(anonymous.status, 401);
  });

  test("no friend's own words appear in any card, export or chemistry answer", async () => {
    // The phrases did reach what the saga reads (as de-identified quotes)...
    for (const o of [alice, twin, bob, carol]) {
      const { quotes } = await stack.domains.surveys.material(o.surveyId);
      assert.ok(quotes.moment?.includes(o.phrase), "the planted phrase is in the survey's material");
    }
    // ...and none of them reaches anything shown to others.
    const seen: string[] = [];
    for (const o of [alice, twin, carol]) {
      for (const query of ["", "?format=chara_card_v3"]) seen.push((await get(`/v1/personas/${o.personaId}/card${query}`)).body);
      seen.push((await get(`/v1/personas/me/chemistry/${alice.personaId}`, { "x-user-uid": o.uid })).body);
    }
    assert.equal(seen.length, 9);
    for (const body of seen) {
      assert.ok(body.length > 100);
      for (const o of [alice, twin, bob, carol]) assert.ok(!body.includes(o.phrase), "a friend's planted phrase leaked into a card");
    }
  });
});

describe("chemistry", () => {
  const chem = async (caller: Owner | undefined, a: string, b: string, query = "") => {
    const res = await get(`/v1/personas/${a}/chemistry/${b}${query}`, caller ? { "x-user-uid": caller.uid } : {});
    return { status: res.status, body: JSON.parse(res.body) };
  };

  test("symmetric and in [0, 100]: the same pair in either order gives the same score and breakdown", async () => {
    const ab = await chem(alice, alice.personaId, carol.personaId);
    const ba = await chem(alice, carol.personaId, alice.personaId);
    assert.equal(ab.status, 200);
    assert.equal(ab.body.score, ba.body.score);
    assert.deepEqual(ab.body.breakdown, ba.body.breakdown);
    assert.deepEqual([ab.body.a.persona_id, ab.body.b.persona_id], [alice.personaId, carol.personaId]);
    assert.ok(Number.isInteger(ab.body.score) && ab.body.score >= 0 && ab.body.score <= 100);
  });

  test("identical personas score highest", async () => {
    // Carol, a third party, compares two public personas built from the same answers.
    const twins = await chem(carol, alice.personaId, twin.personaId);
    const self = await chem(alice, "me", "me");
    assert.equal(twins.body.score, self.body.score);
    assert.equal(twins.body.breakdown.similarity, 1);
    for (const other of [carol, bob]) {
      const { body } = await chem(other, "me", alice.personaId);
      assert.ok(twins.body.score > body.score, `${twins.body.score} vs ${body.score}`);
    }
  });

  test("your own private persona counts for you; someone else's private persona is 404, anonymous is 401", async () => {
    const own = await chem(bob, bob.personaId, alice.personaId);
    assert.equal(own.status, 200);
    const hidden = await chem(alice, alice.personaId, bob.personaId);
    const unknown = await chem(alice, alice.personaId, "AAAAAAAAAAAAAAAAAAAAAA");
    assert.deepEqual([hidden.status, unknown.status], [404, 404]);
    assert.deepEqual([hidden.body.error.code, hidden.body.error.message], [unknown.body.error.code, unknown.body.error.message]);
    assert.equal((await chem(undefined, alice.personaId, carol.personaId)).status, 401);
  });

  test("the blurb is written offline and labelled so; ?blurb=false leaves it out", async () => {
    const { body } = await chem(alice, "me", carol.personaId);
    assert.equal(body.blurb.source, "offline");
    assert.equal(body.blurb.model, null);
    assert.match(body.blurb.text, /offline/);
    assert.equal((await chem(alice, "me", carol.personaId, "?blurb=false")).body.blurb, null);
  });
});

describe("chemistry blurb from a model (the real SDK against the fake Gemini)", () => {
  let gemini: GeminiBlurbs;
  before(async () => (gemini = await startGeminiBlurbs()));
  after(() => gemini.close());

  test("the model's blurb, then its markup refused (offline fallback), then the hourly allowance used up", async () => {
    const limited = await socialTarget(stack.config, gemini.llm, { blurbsPerHour: 2 });
    try {
      const ask = async () =>
        JSON.parse((await limited.request(`/v1/personas/me/chemistry/${carol.personaId}`, { headers: { "x-user-uid": alice.uid } })).body);
      gemini.fake.enqueue({ kind: "json", value: { blurb: "Two calm minds, one good map." } });
      const written = await ask();
      assert.deepEqual(written.blurb, { text: "Two calm minds, one good map.", source: "model", model: gemini.llm.name, reason: null });
      const markup = { kind: "json", value: { blurb: "Match! ![x](https://tracker.example/p.png)" } } as const;
      gemini.fake.enqueue(markup, markup);
      const refused = await ask();
      assert.deepEqual([refused.blurb.source, refused.blurb.reason, refused.score], ["offline_fallback", "model_failed", written.score]);
      const calls = gemini.fake.requests.length;
      const limitedOut = await ask();
      assert.deepEqual([limitedOut.blurb.source, limitedOut.blurb.reason], ["offline_fallback", "rate_limited"]);
      assert.equal(gemini.fake.requests.length, calls, "no model call past the allowance");
    } finally {
      await limited.close();
    }
  });
});
