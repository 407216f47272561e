/**
 * Requests generated from the real route table (test/support/fuzz-requests.ts) against the
 * production app on real local services, through every adapter. For each: no 5xx, every
 * error the JSON error shape with the request id, an accepted write readable afterwards, and
 * the app still answering.
 *
 * Inside `npm test` this is the bounded run (a fixed and a random seed, a few thousand cases).
 * `npm run fuzz` sets FUZZ_TOTAL (100,000 by default) for the long run: progress lines, a
 * summary of statuses, and every failing case, shrunk, written to test/fuzz-regressions/ with
 * the world's ids as placeholders; test/fuzz-replay.test.ts replays those files.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { checkProperty, FIXED_SEED } from "./support/fuzz.ts";
import { type FuzzRequest, operationOf, requests, validBody } from "./support/fuzz-requests.ts";
import { assertSound, assertVisible, fuzzStack, type FuzzStack, toRegression } from "./support/fuzz-stack.ts";
import { apiGatewayTarget, functionUrlTarget, nodeTarget, type Target } from "./support/targets.ts";

const ADAPTERS = ["node:http", "function-url", "api-gateway-1.0", "api-gateway-2.0"];
/** Cases per adapter in `npm test`: a few thousand in all, well under a minute. */
const RUNS = Number(process.env.FUZZ_RUNS_PER_ADAPTER ?? 600);
/** The long run's total over all adapters (`npm run fuzz`); 0 in `npm test`. */
const TOTAL = Number(process.env.FUZZ_TOTAL ?? 0);

let fuzz: FuzzStack;
const targets: Target[] = [];

before(async () => {
  fuzz = await fuzzStack();
  const app = fuzz.stack.app;
  targets.push(await nodeTarget(app), functionUrlTarget(app), apiGatewayTarget(app, "1.0"), apiGatewayTarget(app, "2.0"));
});
after(async () => {
  for (const target of targets) await target.close();
  await fuzz.close();
});

async function once(target: Target, request: FuzzRequest): Promise<number> {
  const res = await target.request(request.path, { method: request.method, headers: request.headers, body: request.body });
  assertSound(request, res);
  await assertVisible(target, request, res, fuzz.world);
  return res.status;
}

test("the generators follow the contract: every route has its operation, and the bodies made from a route's schema reach its accept path", () => {
  const reach: string[] = [];
  for (const route of fuzz.routes) {
    const op = operationOf(route);
    assert.ok(op, `${route.method} ${route.path} has an operation in the contract`);
    if (!op.body) continue;
    const bodies = fc.sample(validBody(op, fuzz.world), { numRuns: 100, seed: FIXED_SEED });
    const accepted = bodies.filter((body) => op.body!.safeParse(body).success).length;
    reach.push(`${op.operationId} ${accepted}/100`);
    assert.ok(accepted > 0, `${op.operationId}: none of 100 generated bodies passes its own schema`);
  }
  assert.ok(reach.length >= 5, reach.join(", "));
});

if (TOTAL === 0) {
  describe("generated requests, every adapter (bounded run)", () => {
    for (const name of ADAPTERS) {
      test(`${name}: no 5xx, JSON errors with the request id, accepted writes readable, still answering`, async () => {
        const target = targets.find((t) => t.name === name)!;
        let checked = 0;
        await checkProperty(
          fc.asyncProperty(requests(fuzz.routes, fuzz.world), async (request) => {
            await once(target, request);
            checked += 1;
          }),
          RUNS,
        );
        assert.equal((await target.request("/healthz")).status, 200);
        assert.ok(checked >= RUNS, `checked ${checked} requests`);
      });
    }
  });
} else {
  describe("generated requests, every adapter (long run)", () => {
    test(`${TOTAL} cases`, { timeout: 6 * 60 * 60_000 }, async () => {
      const started = Date.now();
      const statuses = new Map<string, number>();
      const failures: string[] = [];
      const chunk = 1_000;
      let done = 0;
      for (let round = 0; done < TOTAL; round++) {
        const target = targets[round % targets.length]!;
        const seed = FIXED_SEED + round;
        const result = await fc.check(
          fc.asyncProperty(requests(fuzz.routes, fuzz.world), async (request) => {
            const status = await once(target, request);
            const bucket = `${Math.floor(status / 100)}xx`;
            statuses.set(bucket, (statuses.get(bucket) ?? 0) + 1);
          }),
          { numRuns: Math.min(chunk, TOTAL - done), seed },
        );
        done += result.numRuns;
        if (result.failed && result.counterexample) {
          const [request] = result.counterexample as [FuzzRequest];
          const dir = join(import.meta.dirname, "fuzz-regressions");
          mkdirSync(dir, { recursive: true });
          const file = join(dir, `${target.name.replace(/[^a-z0-9.-]/gi, "_")}-${seed}.json`);
          writeFileSync(
            file,
            `${JSON.stringify(toRegression(target.name, seed, request, String(result.errorInstance ?? ""), fuzz.world), null, 2)}\n`,
          );
          failures.push(file);
        }
        const summary = [...statuses].map(([k, v]) => `${k} ${v.toLocaleString("en")}`).join(", ");
        console.log(
          `fuzz: ${done.toLocaleString("en")} / ${TOTAL.toLocaleString("en")} (${Math.round((Date.now() - started) / 1000)} s) — ${summary}; failing cases: ${failures.length}`,
        );
      }
      console.log(
        `fuzz: done in ${Math.round((Date.now() - started) / 1000)} s; failing cases written: ${failures.length ? failures.join(", ") : "none"}`,
      );
      assert.deepEqual(failures, [], "every failing case is written to test/fuzz-regressions/ and must become a named regression test");
    });
  });
}
