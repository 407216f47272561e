/**
 * The chemistry formula and blurb as pure functions: symmetry, range, identical personas
 * scoring highest (over a seeded set of random personas and their worst-case "balancing"
 * partners), the doc's table matching the code, and the blurb's offline fallbacks.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { OfflineLLM } from "../backend/ai/offline.ts";
import type { LLM } from "../backend/ai/ports.ts";
import { chemistry, chemistryBlurb, type ChemistryProfile } from "../backend/social/chemistry.ts";
import { ADJECTIVES, TRAITS } from "../backend/surveys/questions.ts";
import { chemistryTable, DOC, tableInDoc } from "../scripts/chemistry-table.ts";

/** mulberry32: a tiny seeded generator, so every run checks the same personas. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPersonas(count: number, random: () => number): ChemistryProfile[] {
  return Array.from({ length: count }, () => {
    // Means of friends' scores: two decimals on 1–7, as the aggregation stores them.
    const traits = Object.fromEntries(TRAITS.map((t) => [t, Math.round((1 + 6 * random()) * 100) / 100])) as ChemistryProfile["traits"];
    const size = Math.floor(random() * 7); // 0–6 arena words; 0 = never picked their own
    const arena = [...new Set(Array.from({ length: size }, () => ADJECTIVES[Math.floor(random() * 12)]!))];
    return { traits, arena };
  });
}

/** The partner that gains the most complementarity: extraversion and openness mirrored. */
function balancer(p: ChemistryProfile): ChemistryProfile {
  return { traits: { ...p.traits, extraversion: 8 - p.traits.extraversion, openness: 8 - p.traits.openness }, arena: p.arena };
}

const personas = randomPersonas(60, seeded(20240611));
const pairs = personas.flatMap((a) => [...personas, balancer(a)].map((b) => [a, b] as const));

describe("chemistry formula", () => {
  test("symmetric: the same pair in either order gives the same score and breakdown", () => {
    for (const [a, b] of pairs) assert.deepEqual(chemistry(a, b), chemistry(b, a));
  });

  test("an integer score in [0, 100]", () => {
    for (const [a, b] of pairs) {
      const { score } = chemistry(a, b);
      assert.ok(Number.isInteger(score) && score >= 0 && score <= 100, `score ${score}`);
    }
  });

  test("identical personas score highest: nobody scores more with a than a's copy", () => {
    for (const [a, b] of pairs) {
      assert.ok(chemistry(a, a).score >= chemistry(a, b).score, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
    // Strictly, when the numbers differ clearly: even the most balancing partner loses.
    const outgoing: ChemistryProfile = {
      traits: { extraversion: 7, agreeableness: 5, conscientiousness: 5, emotional_stability: 5, openness: 7 },
      arena: ["kind"],
    };
    assert.ok(chemistry(outgoing, outgoing).score > chemistry(outgoing, balancer(outgoing)).score);
  });

  test("the extremes: identical mid-scale twins with the same words score 100; opposites score low", () => {
    const middle: ChemistryProfile = {
      traits: { extraversion: 4, agreeableness: 6, conscientiousness: 3, emotional_stability: 5, openness: 4 },
      arena: ["kind", "witty"],
    };
    assert.equal(chemistry(middle, middle).score, 100);
    const high = { traits: Object.fromEntries(TRAITS.map((t) => [t, 7])) as ChemistryProfile["traits"], arena: ["bold"] };
    const low = { traits: Object.fromEntries(TRAITS.map((t) => [t, 1])) as ChemistryProfile["traits"], arena: ["shy"] };
    const opposites = chemistry(high, low);
    assert.deepEqual(
      [opposites.breakdown.similarity, opposites.breakdown.complementarity, opposites.breakdown.adjective_overlap],
      [0, 1, 0],
    );
    assert.equal(opposites.score, 15);
  });

  test("without arena words on either side the overlap does not count and the weights still sum to 1", () => {
    const [a] = personas;
    const wordless = { ...a!, arena: [] };
    const { breakdown } = chemistry(a!, wordless);
    assert.equal(breakdown.adjective_overlap, null);
    assert.equal(breakdown.weights.adjective_overlap, 0);
    assert.ok(Math.abs(breakdown.weights.similarity + breakdown.weights.complementarity - 1) < 0.002);
    assert.ok(Math.abs(breakdown.weights.similarity / breakdown.weights.complementarity - 0.5 / 0.15) < 0.01);
  });

  test("shared adjectives are listed and counted (Dice)", () => {
    const [a] = personas;
    const x = { ...a!, arena: ["kind", "warm", "witty"] };
    const y = { ...a!, arena: ["witty", "kind", "patient"] };
    const { breakdown } = chemistry(x, y);
    assert.deepEqual(breakdown.shared_adjectives, ["kind", "witty"]);
    assert.equal(breakdown.adjective_overlap, 0.667);
  });

  test("docs/chemistry.md holds the table the code computes now (npm run chemistry)", async () => {
    const doc = await readFile(DOC, "utf8");
    assert.equal(tableInDoc(doc), chemistryTable());
  });
});

/** An LLM that answers generateJson with `answer` and checks it against the schema as real providers do. */
function scriptedLLM(answer: () => unknown): LLM & { calls: number } {
  return {
    name: "scripted",
    offline: false,
    calls: 0,
    streamText() {
      throw new Error("not used");
    },
    async generateJson(req) {
      this.calls += 1;
      return req.schema.parse(answer());
    },
  };
}

describe("chemistry blurb", () => {
  const pair = [
    { name: "Ada (mirror)", tagline: "Calm" },
    { name: "Ben (mirror)", tagline: "Bold" },
  ] as [{ name: string; tagline: string }, { name: string; tagline: string }];
  const result = chemistry(personas[0]!, personas[1]!);

  test("offline provider: a deterministic blurb labelled offline", async () => {
    const first = await chemistryBlurb(new OfflineLLM(), pair, result, { timeoutMs: 1000 });
    const again = await chemistryBlurb(new OfflineLLM(), pair, result, { timeoutMs: 1000 });
    assert.deepEqual(first, again);
    assert.equal(first.source, "offline");
    assert.equal(first.model, null);
    assert.match(first.text, /Ada \(mirror\) and Ben \(mirror\)/);
    assert.match(first.text, /offline/);
    assert.ok(first.text.length <= 280);
  });

  test("a model's plain blurb is used and labelled with the model", async () => {
    const llm = scriptedLLM(() => ({ blurb: "Two steady hands on one map." }));
    const blurb = await chemistryBlurb(llm, pair, result, { timeoutMs: 1000 });
    assert.deepEqual(blurb, { text: "Two steady hands on one map.", source: "model", model: "scripted", reason: null });
  });

  test("a failing model, or one answering with links or images, falls back to the offline text", async () => {
    const offline = await chemistryBlurb(new OfflineLLM(), pair, result, { timeoutMs: 1000 });
    for (const answer of [
      () => {
        throw new Error("model down");
      },
      () => ({ blurb: "Great pair ![x](https://tracker.example/p.png)" }),
      () => ({ blurb: "Read more at https://example.com" }),
      () => ({ blurb: "x".repeat(281) }),
    ]) {
      const blurb = await chemistryBlurb(scriptedLLM(answer), pair, result, { timeoutMs: 1000 });
      assert.deepEqual(blurb, { text: offline.text, source: "offline_fallback", model: "scripted", reason: "model_failed" });
    }
  });

  test("a caller past their blurb allowance gets the offline text without a model call", async () => {
    const llm = scriptedLLM(() => ({ blurb: "unused" }));
    const blurb = await chemistryBlurb(llm, pair, result, { timeoutMs: 1000, skipModel: "rate_limited" });
    assert.equal(llm.calls, 0);
    assert.deepEqual([blurb.source, blurb.reason], ["offline_fallback", "rate_limited"]);
  });
});
