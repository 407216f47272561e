/** The round rule (backend/surveys/rounds.ts) as pure code: when a new round may be published. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isolatedAnswers, mayPublish } from "../backend/surveys/rounds.ts";

const B = ["x", "y", "z"];

describe("a new round", () => {
  test("the first needs 3 answers", () => {
    assert.equal(mayPublish([], ["a", "b"]), "too_few_answers");
    assert.equal(mayPublish([], ["a", "b", "c"]), undefined);
  });

  test("the next needs 3 answers added or withdrawn since the latest", () => {
    assert.equal(mayPublish([B], [...B, "a"]), "too_few_changes");
    assert.equal(mayPublish([B], [...B, "a", "b"]), "too_few_changes");
    assert.equal(mayPublish([B], [...B, "a", "b", "c"]), undefined);
    // One friend withdrew, two answered: three changes.
    assert.equal(mayPublish([[...B, "w"]], [...B, "a", "b"]), undefined);
  });

  test("an answer added and withdrawn in between counts for nothing", () => {
    // e answered and withdrew, d answered: three events, one answer of difference.
    assert.equal(mayPublish([B], [...B, "d"]), "too_few_changes");
  });

  test("must be 3 apart from every earlier round too, not only the latest", () => {
    const r1 = ["a", "b", "c"];
    const r2 = ["a", "b", "c", "d", "e", "f"];
    // 4 from r2, but only g from r1: r1 and this round would give g away.
    assert.equal(mayPublish([r1, r2], ["a", "b", "c", "g"]), "too_close_to_an_earlier_round");
    // Identical to an earlier round is fine: it shows nothing new.
    assert.equal(mayPublish([r1, r2], r1), undefined);
  });

  test("may hold no answers (all withdrawn) but never 1 or 2", () => {
    assert.equal(mayPublish([["a", "b", "c"]], []), undefined);
    assert.equal(mayPublish([["a", "b", "c", "d"]], ["d"]), "too_few_answers");
  });

  test("is refused when a combination of rounds isolates one answer, though every pair is 3 apart", () => {
    // R1 + R2 − R3 − R0 = 2·a (and then b + c, d + e): each pair of these rounds differs by
    // 3 or 4 answers.
    const r0 = B;
    const r1 = [...B, "a", "b", "c"];
    const r2 = [...B, "a", "d", "e"];
    const r3 = [...B, "b", "c", "d", "e"];
    assert.equal(mayPublish([r0, r1], r2), undefined);
    assert.deepEqual(isolatedAnswers([r0, r1, r2]), []);
    assert.deepEqual(isolatedAnswers([r0, r1, r2, r3]).sort(), ["a", "b", "c", "d", "e"]);
    assert.equal(mayPublish([r0, r1, r2], r3), "would_isolate_an_answer");
  });

  test("nested rounds isolate nothing; two answers always together are flagged as a pair", () => {
    assert.deepEqual(isolatedAnswers([B, [...B, "a", "b", "c"], [...B, "a", "b", "c", "d", "e", "f"]]), []);
    assert.deepEqual(isolatedAnswers([B, [...B, "a", "b"]]).sort(), ["a", "b"]);
  });
});

describe("rounds over a long random life of answers and withdrawals", () => {
  test("every published history keeps all pairs 0 or ≥ 3 apart and isolates no answer", () => {
    // Prepare: a seeded stream of changes, 70% answers, 30% withdrawals of a live answer.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 20; run++) {
      const live: string[] = [];
      const rounds: string[][] = [];
      let next = 0;
      // Act: after every change, publish if the rule allows (the fast path included).
      for (let step = 0; step < 80; step++) {
        if (live.length > 0 && random() < 0.3) live.splice(Math.floor(random() * live.length), 1);
        else live.push(`f${next++}`);
        if (!mayPublish(rounds, live)) rounds.push([...live]);
      }
      // Assess: the full checks hold for the whole history.
      for (let i = 0; i < rounds.length; i++) {
        for (let j = i + 1; j < rounds.length; j++) {
          const [a, b] = [new Set(rounds[i]), new Set(rounds[j])];
          const apart = [...a].filter((x) => !b.has(x)).length + [...b].filter((x) => !a.has(x)).length;
          assert.ok(apart === 0 || apart >= 3, `run ${run}: rounds ${i} and ${j} are ${apart} apart`);
        }
      }
      assert.deepEqual(isolatedAnswers(rounds), [], `run ${run}`);
      assert.ok(rounds.length >= 5, `run ${run} published ${rounds.length} rounds`);
    }
  });
});
