/** The survey's question-set validation and the deterministic aggregation, as pure code. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { aggregate, johariWindow, quotedTexts, traitScores } from "../backend/surveys/aggregate.ts";
import { ADJECTIVES, FriendAnswerInput, RATING_ITEMS, type Answers } from "../backend/surveys/questions.ts";
import { scrubText } from "../backend/surveys/scrub.ts";

const neutral = Object.fromEntries(RATING_ITEMS.map((i) => [i.id, 4])) as Answers["ratings"];

function answer(adjectives: Answers["adjectives"], ratings: Partial<Answers["ratings"]> = {}, texts: Answers["texts"] = {}): Answers {
  return { adjectives, ratings: { ...neutral, ...ratings }, texts };
}

describe("question set v1", () => {
  test("has the 56 classic Johari adjectives and ten ratings, two per trait", () => {
    assert.equal(new Set(ADJECTIVES).size, 56);
    assert.equal(RATING_ITEMS.length, 10);
    const perTrait = Object.groupBy(RATING_ITEMS, (i) => i.trait);
    for (const items of Object.values(perTrait)) assert.deepEqual(items!.map((i) => i.reversed).sort(), [false, true]);
  });

  test("every bad field is reported at once", () => {
    const result = FriendAnswerInput.safeParse({
      fingerprint: "x",
      answers: {
        adjectives: ["kind", "kind", "smelly"],
        ratings: { ...neutral, outgoing: 9, warm: 2.5, favourite_colour: 3 },
        texts: { strength: "y".repeat(501) },
        extra: true,
      },
    });
    assert.equal(result.success, false);
    const paths = result.error!.issues.map((i) => i.path.join("."));
    for (const path of [
      "fingerprint",
      "answers.adjectives.2",
      "answers.ratings.outgoing",
      "answers.ratings.warm",
      "answers.ratings",
      "answers.texts.strength",
      "answers",
    ]) {
      assert.ok(paths.includes(path), `${path} in ${paths.join(", ")}`);
    }
  });

  test("a missing rating and too few adjectives are errors too", () => {
    const { reserved: _, ...nine } = neutral;
    const result = FriendAnswerInput.safeParse({ fingerprint: "device-123456", answers: { adjectives: ["kind"], ratings: nine } });
    const paths = result.error!.issues.map((i) => i.path.join("."));
    assert.ok(paths.includes("answers.adjectives"));
    assert.ok(paths.includes("answers.ratings.reserved"));
  });
});

describe("aggregation", () => {
  test("trait scores average each pair with reverse-keyed items flipped", () => {
    const scores = traitScores({ ...neutral, outgoing: 7, reserved: 1, warm: 6, critical: 6 });
    assert.equal(scores.extraversion, 7);
    assert.equal(scores.agreeableness, 4);
    assert.equal(scores.openness, 4);
  });

  test("means and spreads across friends, adjectives by count, deterministic", () => {
    const answers = [
      answer(["kind", "witty", "calm", "brave", "wise"], { outgoing: 7, reserved: 1 }),
      answer(["kind", "witty", "shy", "brave", "able"], { outgoing: 5, reserved: 3 }),
      answer(["kind", "quiet", "calm", "bold", "able"], { outgoing: 3, reserved: 5 }),
    ];
    const result = aggregate(answers);
    assert.deepEqual(result.traits.extraversion, { mean: 5, spread: 1.63 });
    assert.deepEqual(result.traits.agreeableness, { mean: 4, spread: 0 });
    assert.deepEqual(result.adjectives.slice(0, 5), [
      { adjective: "kind", count: 3 },
      { adjective: "able", count: 2 },
      { adjective: "brave", count: 2 },
      { adjective: "calm", count: 2 },
      { adjective: "witty", count: 2 },
    ]);
    assert.deepEqual(aggregate([...answers].reverse()), result);
    assert.equal(result.johari, null);
  });

  test("Johari quadrants from the owner's picks against the friends'", () => {
    const window = johariWindow(["kind", "shy", "logical"], ["kind", "witty"]);
    assert.deepEqual(window.arena, ["kind"]);
    assert.deepEqual(window.blind_spot, ["witty"]);
    assert.deepEqual(window.facade, ["logical", "shy"]);
    assert.equal(window.unknown.length, 56 - 4);
  });
});

describe("free text for the saga", () => {
  test("e-mails, phones, links, handles and names are removed", () => {
    const text = "Ask Mira Tanaka at mira@example.com or +81 90-1234-5678, see https://x.io/m and @mira_t. Then Kenji laughs. I'm sure.";
    assert.equal(
      scrubText(text, ["Mira Tanaka"]),
      "Ask [name] [name] at [email] or [phone], see [link] and [handle]. Then [name] laughs. I'm sure.",
    );
  });

  test("quotes are grouped by prompt, de-identified and sorted away from answer order", () => {
    const quotes = quotedTexts(
      [
        answer(["kind", "wise", "calm", "bold", "able"], {}, { strength: "zest, says Bob" }),
        answer(["kind", "wise", "calm", "bold", "able"], {}, { strength: "always calm", wish: "" }),
      ],
      [],
    );
    assert.deepEqual(quotes, { strength: ["always calm", "zest, says [name]"] });
  });
});
