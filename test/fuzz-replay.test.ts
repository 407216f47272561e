/**
 * Every failing case a fuzz run ever found (test/fuzz-regressions/*.json, written shrunk by
 * `npm run fuzz` or by hand from a bounded run's report), replayed through the adapter it
 * failed on: each must now hold the fuzz properties. A file names what it once broke.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { assertSound, assertVisible, fromRegression, fuzzStack, type FuzzStack, type Regression } from "./support/fuzz-stack.ts";
import { apiGatewayTarget, functionUrlTarget, nodeTarget, type Target } from "./support/targets.ts";

const dir = join(import.meta.dirname, "fuzz-regressions");
const files = readdirSync(dir).filter((name) => name.endsWith(".json"));

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

describe("fuzz regressions", () => {
  for (const file of files) {
    const regression = JSON.parse(readFileSync(join(dir, file), "utf8")) as Regression;
    test(`${file}: ${regression.failure.split("\n")[0]}`, async () => {
      const target = targets.find((t) => t.name === regression.adapter)!;
      const request = fromRegression(regression, fuzz.world);
      const res = await target.request(request.path, { method: request.method, headers: request.headers, body: request.body });
      assertSound(request, res);
      await assertVisible(target, request, res, fuzz.world);
    });
  }
});
