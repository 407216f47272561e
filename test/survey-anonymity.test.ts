/**
 * Anonymity that survives arithmetic (issue 14, rule 1), over HTTP against DynamoDB Local:
 * the owner reads the summary after every single answer or withdrawal and runs the
 * differencing attack (test/support/differencing.ts) on every pair of views they saw. The
 * summary moves only in published rounds of at least 3 changes, so the attack recovers no
 * friend's answer — with 3, 4, 10 and 25 earlier answers, and across a withdrawal.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test, type TestContext } from "node:test";
import { createApi } from "../backend/api/index.ts";
import { loadConfig } from "../backend/config.ts";
import type { Answers } from "../backend/surveys/questions.ts";
import { friendsAnswers, isExactly, recover, type SummaryView } from "./support/differencing.ts";
import { ownerWithAnswers, sagaStack, type SagaStack } from "./support/saga.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

const quiet = { info() {}, error() {} };
const as = (uid: string) => ({ "x-user-uid": uid });
const jsonHeaders = { "content-type": "application/json" };

type Change = { add: Answers } | { withdraw: number };

interface Seen {
  /** Changes (answers added or withdrawn) made before this view was read. */
  changes: number;
  view: SummaryView & { round?: number; changes_waiting?: number };
}

let target: Target;
before(async () => {
  // No rate limits: one test sends 31 answers from one address within a minute.
  const config = loadConfig({ ...process.env, AUTH_MODE: "local", ANSWERS_PER_IP_PER_HOUR: "0", ANSWERS_PER_SURVEY_PER_MINUTE: "0" });
  target = await nodeTarget(createApi(config, { logger: quiet }));
});
after(() => target.close());

/** A new survey; then each change in turn, the owner reading the summary after every one. */
async function play(changes: Change[]): Promise<{ seen: Seen[]; added: Answers[] }> {
  const owner = `owner-${randomUUID()}`;
  const created = await target.request("/v1/surveys", { method: "POST", headers: as(owner) });
  const id = JSON.parse(created.body).survey_id as string;
  const receipts: string[] = [];
  const added: Answers[] = [];
  const seen: Seen[] = [];
  for (const [i, change] of changes.entries()) {
    if ("add" in change) {
      const res = await target.request(`/v1/surveys/${id}/responses`, {
        method: "POST",
        headers: jsonHeaders,
        body: JSON.stringify({ fingerprint: `device-${i}-${randomUUID()}`, answers: change.add }),
      });
      assert.equal(res.status, 201, res.body);
      receipts.push(JSON.parse(res.body).receipt);
      added.push(change.add);
    } else {
      const res = await target.request(`/v1/surveys/${id}/responses/withdraw`, {
        method: "POST",
        headers: jsonHeaders,
        body: JSON.stringify({ receipt: receipts[change.withdraw] }),
      });
      assert.equal(res.status, 200, res.body);
    }
    const summary = await target.request(`/v1/surveys/${id}/summary`, { headers: as(owner) });
    assert.equal(summary.status, 200, summary.body);
    seen.push({ changes: i + 1, view: JSON.parse(summary.body) });
  }
  return { seen, added };
}

const same = (a: SummaryView, b: SummaryView) =>
  JSON.stringify([a.answer_count, a.aggregates]) === JSON.stringify([b.answer_count, b.aggregates]);

/** The views that differ from the one before them (the first with aggregates included). */
function distinct(seen: Seen[]): Seen[] {
  const out: Seen[] = [];
  for (const s of seen) if (s.view.aggregates && !(out.length && same(out.at(-1)!.view, s.view))) out.push(s);
  return out;
}

/**
 * Runs the attack on every pair of views the owner saw (not only neighbours) and counts the
 * pairs that give some friend's exact answer.
 */
function attack(seen: Seen[], friends: Answers[]): { pairs: number; recovered: number } {
  const views = distinct(seen);
  let pairs = 0;
  let recovered = 0;
  for (let i = 0; i < views.length; i++) {
    for (let j = i + 1; j < views.length; j++) {
      const guess = recover(views[i]!.view, views[j]!.view);
      if (!guess) continue;
      pairs += 1;
      if (friends.some((friend) => isExactly(guess, friend))) recovered += 1;
    }
  }
  return { pairs, recovered };
}

function assertRounds(t: TestContext, seen: Seen[], friends: Answers[], expectedViews: number) {
  const views = distinct(seen);
  const { pairs, recovered } = attack(seen, friends);
  t.diagnostic(`${seen.length} reads, ${views.length} distinct views, ${pairs} pairs attacked, ${recovered} answers recovered`);
  assert.equal(recovered, 0, `the attack recovered ${recovered} friend's answer(s) from ${pairs} pairs of views`);
  for (let i = 1; i < views.length; i++) {
    const apart = views[i]!.changes - views[i - 1]!.changes;
    assert.ok(apart >= 3, `two views ${apart} change(s) apart`);
  }
  // Not vacuous: the summary did move, in the rounds expected.
  assert.equal(views.length, expectedViews);
}

describe("the differencing attack on the summary", () => {
  for (const earlier of [3, 4, 10, 25]) {
    test(`${earlier} earlier answers, then one at a time: no pair of views gives away an answer`, async (t) => {
      // Prepare
      const friends = friendsAnswers(earlier + 6, 1000 + earlier);

      // Act
      const { seen } = await play(friends.map((add) => ({ add })));

      // Assess: rounds of 3 — views change at 3, 6, 9, …
      assertRounds(t, seen, friends, Math.floor((earlier + 6) / 3));
      const last = seen.at(-1)!.view;
      assert.equal(last.answer_count, Math.floor((earlier + 6) / 3) * 3, "the summary shows the last published round");
      assert.equal(last.changes_waiting, (earlier + 6) % 3, "and says how many changes wait for the next");
    });
  }

  test("across a withdrawal: the withdrawn answer cannot be subtracted out", async (t) => {
    // Prepare: 10 answers; a friend in the published round withdraws; more answers come.
    const friends = friendsAnswers(14, 77);
    const changes: Change[] = [
      ...friends.slice(0, 10).map((add) => ({ add })),
      { withdraw: 4 },
      ...friends.slice(10).map((add) => ({ add })),
    ];

    // Act
    const { seen } = await play(changes);

    // Assess: rounds at changes 3, 6, 9, then 12 (the 10th answer, the withdrawal, the 11th
    // answer) and 15; the withdrawal alone changes nothing the owner sees.
    assertRounds(t, seen, friends, 5);
    assert.ok(same(seen[10]!.view, seen[9]!.view), "the withdrawal alone changes nothing the owner sees");
    assert.equal(seen[11]!.view.answer_count, 10, "11 answers, one withdrawn: the round after the withdrawal");
    assert.equal(seen[14]!.view.answer_count, 13);
  });

  test("an answer added and withdrawn between rounds counts for nothing", async (t) => {
    // Prepare: a round of 3; then friend 3 answers and withdraws, friend 4 answers.
    const friends = friendsAnswers(7, 5);
    const changes: Change[] = [
      ...friends.slice(0, 3).map((add) => ({ add })),
      { add: friends[3]! },
      { withdraw: 3 },
      { add: friends[4]! },
      { add: friends[5]! },
      { add: friends[6]! },
    ];

    // Act
    const { seen } = await play(changes);

    // Assess: three changes but a net change of one answer (friend 4): no new round then, or
    // the new view would be friend 4's answer exactly. It comes with friends 5 and 6.
    assert.ok(same(seen[5]!.view, seen[2]!.view), "no round on a net change of one answer");
    assert.equal(seen[7]!.view.answer_count, 6);
    assertRounds(t, seen, friends, 2);
  });
});

describe("the persona follows rounds too", () => {
  let stack: SagaStack;
  before(async () => (stack = await sagaStack({ ANSWERS_PER_IP_PER_HOUR: "0" })));
  after(() => stack.close());

  async function regenerate(uid: string) {
    const started = await stack.target.request("/v1/personas/me", { method: "POST", headers: { ...as(uid), ...jsonHeaders } });
    assert.equal(started.status, 202, started.body);
    const deadline = AbortSignal.timeout(60_000);
    for (;;) {
      const persona = await stack.domains.personas.get(uid);
      if (persona?.status === "ready" && persona.current?.version === persona.version) return persona.current;
      if (persona?.status === "failed" || deadline.aborted) throw new Error(`not ready: ${persona?.status} ${persona?.reason}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function addAnswers(surveyId: string, answers: Answers[]) {
    for (const a of answers) {
      const res = await stack.target.request(`/v1/surveys/${surveyId}/responses`, {
        method: "POST",
        headers: jsonHeaders,
        body: JSON.stringify({ fingerprint: `device-${randomUUID()}`, answers: a }),
      });
      assert.equal(res.status, 201);
    }
  }

  test("regenerating after one more answer changes nothing derived from answers; after a round it does", async () => {
    // Prepare: a persona from the first round of 3.
    const { uid, surveyId } = await ownerWithAnswers(stack.target, 3);
    const first = await regenerate(uid);
    const [one, two, three] = friendsAnswers(3, 9);

    // Act: one more answer, regenerate; two more (a round), regenerate.
    await addAnswers(surveyId, [one!]);
    const afterOne = await regenerate(uid);
    await addAnswers(surveyId, [two!, three!]);
    const afterRound = await regenerate(uid);

    // Assess: the traits chemistry is computed from, and the answer count the card shows.
    assert.deepEqual([afterOne.traits, afterOne.answerCount], [first.traits, 3], "one answer shows nowhere");
    assert.equal(afterRound.answerCount, 6);
    assert.notDeepEqual(afterRound.traits, first.traits);
  });
});
