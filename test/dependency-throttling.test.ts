/**
 * A DynamoDB that throttles or fails on its own side, which DynamoDB Local never does: a
 * local server answers in DynamoDB's wire format (JSON 1.0 errors with `__type`), read by
 * the real SDK client under the production app. Transient failures are retried by the SDK
 * up to AWS_MAX_ATTEMPTS and then answered 503 + Retry-After; anything else is not dressed
 * up as retryable.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createApi } from "../backend/api/index.ts";
import { loadConfig } from "../backend/config.ts";
import { quiet } from "./support/saga.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

let dynamodb: Server;
let target: Target;
let maxAttempts: number;
let calls = 0;
let answer: { status: number; type: string; extra?: Record<string, unknown> } = { status: 500, type: "InternalServerError" };

before(async () => {
  dynamodb = createServer((req, res) => {
    calls += 1;
    req.resume().on("end", () => {
      res.writeHead(answer.status, { "content-type": "application/x-amz-json-1.0" });
      res.end(
        JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${answer.type}`, message: "scripted by the test", ...answer.extra }),
      );
    });
  });
  await new Promise<void>((resolve) => dynamodb.listen(0, "127.0.0.1", resolve));
  // Before this process makes its first DynamoDB client: clients read the endpoint when made.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${(dynamodb.address() as AddressInfo).port}`;
  const config = loadConfig({ ...process.env, AUTH_MODE: "local" });
  maxAttempts = config.awsClients.maxAttempts;
  target = await nodeTarget(createApi(config, { logger: quiet }));
});

after(async () => {
  await target.close();
  dynamodb.closeAllConnections();
  await new Promise((resolve) => dynamodb.close(resolve));
});

async function readSurvey(status: number, type: string) {
  answer = { status, type };
  calls = 0;
  const res = await target.request("/v1/surveys/AAAAAAAAAAAAAAAAAAAAAA");
  return { res, body: JSON.parse(res.body), calls };
}

describe("DynamoDB's own failures", () => {
  for (const [status, type] of [
    [400, "ProvisionedThroughputExceededException"],
    [400, "ThrottlingException"],
    [400, "RequestLimitExceeded"],
    [500, "InternalServerError"],
    [503, "ServiceUnavailable"],
  ] as const) {
    test(`${status} ${type}: retried by the SDK, then 503 + Retry-After naming nothing internal`, async () => {
      // Act
      const { res, body, calls } = await readSurvey(status, type);

      // Assess
      assert.equal(res.status, 503);
      assert.equal(res.headers["retry-after"], "5");
      assert.equal(body.error.code, "service_unavailable");
      assert.equal(body.error.message, "A service we depend on is unavailable; try again shortly");
      assert.doesNotMatch(res.body, /scripted|127\.0\.0\.1|dynamo|Throttl|Exceeded/i);
      assert.equal(calls, maxAttempts, "AWS_MAX_ATTEMPTS attempts");
    });
  }

  test("a transaction cancelled only by throttling is 503 too; one cancelled by a condition is not", async () => {
    // Act
    answer = {
      status: 400,
      type: "TransactionCanceledException",
      extra: { CancellationReasons: [{ Code: "ThrottlingError" }, { Code: "None" }] },
    };
    const throttled = await target.request("/v1/surveys", { method: "POST", headers: { "x-user-uid": "someone" } });
    answer = {
      status: 400,
      type: "TransactionCanceledException",
      extra: { CancellationReasons: [{ Code: "ConditionalCheckFailed" }, { Code: "ThrottlingError" }] },
    };
    const refused = await target.request("/v1/surveys", { method: "POST", headers: { "x-user-uid": "someone" } });

    // Assess
    assert.equal(throttled.status, 503);
    assert.equal(throttled.headers["retry-after"], "5");
    assert.notEqual(refused.status, 503, refused.body);
    assert.equal(refused.headers["retry-after"], undefined);
  });

  test("a refusal retrying cannot cure (ValidationException) stays a 500 and is not retried", async () => {
    // Act
    const { res, body, calls } = await readSurvey(400, "ValidationException");

    // Assess
    assert.equal(res.status, 500);
    assert.equal(res.headers["retry-after"], undefined);
    assert.equal(body.error.code, "internal_error");
    assert.equal(calls, 1);
  });
});
