/**
 * The metrics port (backend/ports/metrics.ts) on its own: what shares the API's request line
 * and what gets a line of its own, the saga failure's total, the flush a second later and at
 * exit (the real API entry, SIGTERMed), and the model's metrics through the real SDK against
 * the fake Gemini. The journey's metrics, end to end, are in operations.test.ts.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { GeminiLLM } from "../backend/ai/gemini.ts";
import { errorKind } from "../backend/ai/model-metrics.ts";
import { InvalidModelOutputError, ModelRefusedError, ModelUnavailableError } from "../backend/ai/ports.ts";
import { CircuitOpenError, TimeoutError } from "../backend/ai/resilience.ts";
import { createApi } from "../backend/api/index.ts";
import { awsClientSettings, loadConfig } from "../backend/config.ts";
import { Table } from "../backend/data/table.ts";
import { withLogContext } from "../backend/log.ts";
import { awsClientOptions } from "../backend/ports/aws.ts";
import { reportUnavailable } from "../backend/ports/dependency.ts";
import { emfMetrics } from "../backend/ports/metrics.ts";
import { startFakeGemini } from "../fixtures/fake-gemini.ts";
import { chat, collect } from "../fixtures/model-fixtures.ts";
import { type Json, emfProblems, observations, total } from "./support/emf.ts";
import { killEntryProcesses, startEntryProcess } from "./support/entry-process.ts";
import { quiet } from "./support/saga.ts";
import { ROOT } from "./support/sam-template.ts";
import { freePort } from "./support/stack.ts";
import { nodeTarget } from "./support/targets.ts";

const NAMESPACE = "Remirai-test";

/** The port writing into an array, as the API's process would write to stdout. */
function sink() {
  const docs: Json[] = [];
  const metrics = emfMetrics({ namespace: NAMESPACE, enabled: true, service: "remirai-api", write: (line) => docs.push(JSON.parse(line)) });
  return { metrics, docs };
}

after(() => killEntryProcesses());

describe("the API's request line", () => {
  test("pending values ride on the request line; two values of one dimension cannot, so one gets a line of its own, and none is lost", () => {
    // Prepare
    const { metrics, docs } = sink();
    metrics.record("SurveyAnswers", 1, { outcome: "accepted" });
    metrics.record("SurveyAnswers", 1, { outcome: "duplicate" });
    metrics.record("SagaStarted");
    // Act
    const line = metrics.requestLine(503, { message: "request", request_id: "r-1" }) as Json;
    // Assess: the logger adds its `service` (the line must not name it: the key is the logger's).
    assert.equal(line.service, undefined);
    const printed = { ...line, service: "remirai-api" };
    assert.deepEqual(emfProblems(printed, NAMESPACE), []);
    assert.equal(printed.request_id, "r-1");
    assert.equal(docs.length, 1, "one extra line, for the value that did not fit");
    const seen = observations([printed, ...docs]);
    assert.equal(total(seen, "ApiRequests", { service: "remirai-api" }), 1);
    assert.equal(total(seen, "ApiResponses5xx", { service: "remirai-api" }), 1);
    assert.equal(total(seen, "SagaStarted", { service: "remirai-api" }), 1);
    assert.equal(total(seen, "SurveyAnswers", { service: "remirai-api", outcome: "accepted" }), 1);
    assert.equal(total(seen, "SurveyAnswers", { service: "remirai-api", outcome: "duplicate" }), 1);
  });

  test("another service's values (a local worker in the same process) never ride on the API's line", () => {
    const { metrics, docs } = sink();
    withLogContext({ service: "remirai-image" }, () => metrics.record("SagaReady"));
    const line = metrics.requestLine(200, { message: "request" }) as Json;
    assert.equal(line.SagaReady, undefined);
    metrics.flush("remirai-image");
    assert.equal(total(observations(docs), "SagaReady", { service: "remirai-image" }), 1);
  });
});

describe("dependencies", () => {
  test("an AWS call that fails after the SDK's retries is answered 503 and counted by service", async () => {
    // Prepare: the real SDK client, pointed at a port where nothing listens
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const client = reportUnavailable(new DynamoDBClient({ ...awsClientOptions(awsClientSettings()), endpoint: nowhere }), "dynamodb");
    const { metrics, docs } = sink();
    const config = loadConfig();
    const table = new Table(config.tableName, DynamoDBDocumentClient.from(client));
    const target = await nodeTarget(createApi(config, { logger: quiet, ports: { table, metrics } }));
    try {
      // Act
      const res = await target.request("/v1/surveys/AAAAAAAAAAAAAAAAAAAAAA");
      metrics.flush();
      // Assess
      assert.equal(res.status, 503);
      const seen = observations(docs);
      assert.equal(total(seen, "DependencyFailures", { service: "remirai-api", dependency: "dynamodb" }), 1);
      assert.equal(total(seen, "ApiResponses5xx", { service: "remirai-api" }), 1);
    } finally {
      await target.close();
    }
  });
});

describe("flushes", () => {
  test("a saga failure is published by reason and as a total (what the alarm reads)", () => {
    const { metrics, docs } = sink();
    withLogContext({ service: "remirai-sweeper" }, () => metrics.record("SagaFailed", 1, { reason: "timed_out" }));
    metrics.flush();
    assert.deepEqual(emfProblems(docs[0], NAMESPACE), []);
    const seen = observations(docs);
    assert.equal(total(seen, "SagaFailed", { service: "remirai-sweeper", reason: "timed_out" }), 1);
    assert.equal(total(seen, "SagaFailed", { service: "remirai-sweeper" }), 1);
  });

  test("values recorded outside any request are written within a second, without a flush", async () => {
    const { metrics, docs } = sink();
    metrics.record("ChatStops");
    const deadline = Date.now() + 10_000;
    while (docs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(total(observations(docs), "ChatStops", { service: "remirai-api" }), 1);
  });

  test("disabled (POWERTOOLS_METRICS_DISABLED): the request line stays a plain log line", () => {
    const metrics = emfMetrics({ namespace: NAMESPACE, enabled: false });
    const line = metrics.requestLine(200, { message: "request", status: 200 });
    assert.deepEqual(line, { message: "request", status: 200 });
  });

  for (const level of ["WARN", "INFO"]) {
    test(`the API entry stopped by SIGTERM right after its requests writes every request's metrics (log level ${level})`, async () => {
      // Prepare
      const port = await freePort();
      const api = startEntryProcess(process.execPath, ["--import", "tsx", "backend/main.ts"], {
        cwd: ROOT,
        env: {
          ...(process.env as Record<string, string>),
          PORT: String(port),
          POWERTOOLS_LOG_LEVEL: level,
          POWERTOOLS_METRICS_DISABLED: "false",
        },
      });
      let answered = 0;
      const deadline = Date.now() + 30_000;
      while (answered === 0) {
        if (Date.now() > deadline) throw new Error(`the API did not start:\n${api.lines.join("\n")}`);
        answered += await fetch(`http://127.0.0.1:${port}/healthz`).then(
          () => 1,
          () => new Promise<number>((r) => setTimeout(() => r(0), 50)),
        );
      }
      // Act
      for (let i = 0; i < 5; i++) answered += (await fetch(`http://127.0.0.1:${port}/v1/nothing-here`)).status === 404 ? 1 : 0;
      api.child.kill("SIGTERM");
      assert.equal(await api.exited, 0);
      // Assess
      const docs = api.lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
      for (const doc of docs) assert.deepEqual(emfProblems(doc, "Remirai"), []);
      assert.equal(total(observations(docs), "ApiRequests", { service: "remirai-api" }), answered);
    });
  }
});

describe("model calls", () => {
  test("errors by kind, retries, and the breaker opening once, through the real SDK", async () => {
    // Prepare
    const fake = await startFakeGemini({ fallback: { kind: "error", status: 500 } });
    const { metrics, docs } = sink();
    const llm = new GeminiLLM({
      apiKey: "k",
      baseUrl: fake.url,
      model: "gemini-test",
      metrics,
      log: { info() {}, warn() {} },
      retry: { attempts: 2 },
      breaker: { failureThreshold: 2, coolDownMs: 60_000 },
      sleep: async () => {},
    });
    try {
      // Act: two calls of two attempts each open the breaker (threshold 2); the third is refused at once.
      for (let i = 0; i < 3; i++) await assert.rejects(llm.generateJson({ system: "s", prompt: "p", schema: z.object({}) }));
      await assert.rejects(collect(llm.streamText(chat)));
      metrics.flush();
      // Assess
      const seen = observations(docs);
      assert.equal(total(seen, "ModelErrors", { service: "remirai-api", kind: "server_error" }), 1);
      assert.equal(total(seen, "ModelErrors", { service: "remirai-api", kind: "circuit_open" }), 3);
      assert.equal(total(seen, "ModelRetries", { service: "remirai-api" }), 1);
      assert.equal(total(seen, "ModelBreakerOpened", { service: "remirai-api" }), 1);
      assert.equal(fake.requests.length, 2, "the open breaker made no call");
    } finally {
      await fake.close();
    }
  });

  test("each failure has one kind of a few", () => {
    const status = (n: number) => Object.assign(new Error("x"), { status: n });
    const unavailable = (cause: unknown) => new ModelUnavailableError("x", { cause });
    assert.equal(errorKind(unavailable(new CircuitOpenError(5))), "circuit_open");
    assert.equal(errorKind(unavailable(new TimeoutError(5))), "timeout");
    assert.equal(errorKind(unavailable(status(429))), "rate_limited");
    assert.equal(errorKind(unavailable(status(503))), "server_error");
    assert.equal(errorKind(unavailable(status(400))), "rejected");
    assert.equal(errorKind(unavailable(Object.assign(new Error("x"), { code: "ECONNRESET" }))), "network");
    assert.equal(errorKind(new ModelRefusedError("x", "SAFETY")), "refused");
    assert.equal(errorKind(new InvalidModelOutputError("x", 3)), "invalid_output");
  });
});
