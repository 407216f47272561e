/**
 * What an operator reads: the metrics (CloudWatch EMF lines) and the log lines of one
 * persona's journey, as its processes print them. The journey (test/support/journey.ts) runs
 * in a child process against the shared DynamoDB Local and fauxqs and a fake Gemini, with
 * metrics and INFO logs on; every line of its stdout is parsed here.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { provision } from "../backend/local/provision.ts";
import { sqsClient } from "../backend/ports/aws.ts";
import { redrive, stepQueues, traceOf } from "../backend/ports/queue.ts";
import { type Json, emfProblems, observations, total, type Observation } from "./support/emf.ts";
import { killEntryProcesses, startEntryProcess } from "./support/entry-process.ts";
import { ROOT } from "./support/sam-template.ts";

const NAMESPACE = "Remirai";

/** Every JSON line the journey printed, in order. */
let lines: Json[] = [];
let journey: { correlationId: string; sagaId: string; chatId: string; replyId: string };
let docs: Json[];
let seen: Observation[];

before(async () => {
  const run = startEntryProcess(process.execPath, ["--import", "tsx", "test/support/journey.ts"], {
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), POWERTOOLS_LOG_LEVEL: "INFO", POWERTOOLS_METRICS_DISABLED: "false" },
  });
  const code = await run.exited;
  assert.equal(code, 0, run.lines.join("\n"));
  lines = run.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  journey = lines.find((l) => l.journey)!.journey;
  docs = lines.filter((l) => l._aws);
  seen = observations(docs);
});
after(() => killEntryProcesses());

const api = "remirai-api";
const has = (name: string, dimensions: Record<string, string>) =>
  assert.ok(
    total(seen, name, dimensions) > 0 || seen.some((o) => o.name === name && matches(o, dimensions)),
    `${name} ${JSON.stringify(dimensions)}`,
  );
const matches = (o: Observation, dimensions: Record<string, string>) =>
  Object.keys(o.dimensions).length === Object.keys(dimensions).length &&
  Object.entries(dimensions).every(([k, v]) => o.dimensions[k] === v);

describe("metrics: EMF lines of the journey", () => {
  test("every EMF document is valid by the specification, in our namespace, with our units and only low-cardinality dimensions", () => {
    assert.ok(docs.length > 10, `${docs.length} documents`);
    for (const doc of docs) assert.deepEqual(emfProblems(doc, NAMESPACE), [], JSON.stringify(doc));
  });

  test("each request's log line is its EMF document: no request is counted twice or missed", () => {
    const requests = lines.filter((l) => l.message === "request");
    const start = requests.find((l) => l.request_id === journey.correlationId)!;
    assert.equal(start.route, "/v1/personas/me");
    assert.equal(start.status, 202);
    assert.equal(start.ApiRequests, 1);
    assert.equal(start.ApiResponses5xx, 0);
    assert.ok(start._aws.CloudWatchMetrics.some((d: Json) => d.Metrics.some((m: Json) => m.Name === "ApiRequests")));
    assert.ok(
      requests.every((l) => l._aws),
      "every request line carries its metrics",
    );
    assert.equal(total(seen, "ApiRequests", { service: api }), requests.length);
    assert.equal(lines.filter((l) => l.ApiRequests !== undefined && l.message !== "request").length, 0, "no request counted apart");
  });

  test("answers: accepted, duplicate and rate-limited, counted once each", () => {
    assert.equal(total(seen, "SurveyAnswers", { service: api, outcome: "accepted" }), 4);
    assert.equal(total(seen, "SurveyAnswers", { service: api, outcome: "duplicate" }), 1);
    assert.equal(total(seen, "SurveyAnswers", { service: api, outcome: "rate_limited" }), 1);
  });

  test("rounds and withdrawals: the first round published once, one answer withdrawn", () => {
    assert.equal(total(seen, "SurveyRoundsPublished", { service: api }), 1);
    assert.equal(total(seen, "SurveyAnswersWithdrawn", { service: api }), 1);
  });

  test("the saga: started, re-driven, each step's duration, ready, time to ready, model calls — each by the service that did it", () => {
    assert.equal(total(seen, "SagaStarted", { service: api }), 1);
    assert.equal(total(seen, "SagaRedriven", { service: "remirai-sweeper", step: "synthesis" }), 1);
    has("SagaStepDuration", { service: "remirai-synthesis", step: "synthesis" });
    has("SagaStepDuration", { service: "remirai-image", step: "image" });
    assert.equal(total(seen, "SagaReady", { service: "remirai-image" }), 1);
    has("SagaTimeToReady", { service: "remirai-image" });
    has("ModelLatency", { service: "remirai-synthesis", call: "generateJson" });
    has("ModelLatency", { service: "remirai-image", call: "generateImage" });
    assert.equal(total(seen, "ModelRetries", { service: "remirai-synthesis" }), 1);
    assert.ok(total(seen, "ModelInputTokens", { service: "remirai-synthesis" }) > 0);
    assert.ok(total(seen, "ModelOutputTokens", { service: "remirai-image" }) > 0);
    assert.equal(total(seen, "SagaFailed", { service: "remirai-synthesis" }), 0);
  });

  test("chat turns: time to first token, reply duration, one reply complete and one stopped, the model's stream and tokens", () => {
    const ms = (name: string) => seen.filter((o) => o.name === name && o.dimensions.service === api).flatMap((o) => o.values);
    assert.ok(seen.filter((o) => o.name === "ChatFirstToken").every((o) => o.unit === "Milliseconds"));
    assert.equal(ms("ChatFirstToken").length, 2);
    assert.equal(ms("ChatReplyDuration").length, 2);
    assert.ok(Math.max(...ms("ChatReplyDuration")) >= Math.min(...ms("ChatFirstToken")));
    assert.equal(total(seen, "ChatReplies", { service: api, outcome: "complete" }), 1);
    assert.equal(total(seen, "ChatReplies", { service: api, outcome: "interrupted" }), 1);
    assert.equal(total(seen, "ChatStops", { service: api }), 1);
    has("ModelLatency", { service: api, call: "streamText" });
    assert.ok(total(seen, "ModelOutputTokens", { service: api }) > 0);
    assert.equal(seen.filter((o) => o.name === "ModelErrors").length, 0, "a reply stopped by its user is not the model's error");
  });
});

describe("correlation: one saga followed through every function", () => {
  test("every line about the saga, in the API, both workers and the sweeper, carries the id of the request that started it", () => {
    const { correlationId, sagaId } = journey;
    const about = lines.filter(
      (l) => l.message !== undefined && (l.saga_id === sagaId || l.correlation_id === correlationId || l.request_id === correlationId),
    );
    for (const line of about) assert.equal(line.correlation_id, correlationId, JSON.stringify(line));
    const said = (service: string, message: string) => about.some((l) => l.service === service && l.message === message);
    assert.ok(said(api, "request") && said(api, "saga started"), "the API's request line and its start");
    assert.ok(said("remirai-sweeper", "saga re-driven"), "the sweeper's re-drive");
    assert.ok(said("remirai-synthesis", "saga step") && said("remirai-synthesis", "Model call failed, retrying"), "step 1, with its retry");
    assert.ok(said("remirai-image", "saga step") && said("remirai-image", "saga ready"), "step 2");
    const workerLines = about.filter((l) => l.service !== api);
    assert.ok(
      workerLines.every((l) => l.saga_id === sagaId && l.persona_version === 1),
      "workers name the saga and its version",
    );
    assert.ok(
      about.filter((l) => l.service === "remirai-synthesis" || l.service === "remirai-image").every((l) => l.step),
      "and their step",
    );
  });

  test("a chat's lines carry its chat_id and reply_id, and the id of the request that sent the message", () => {
    const reply = lines.find((l) => l.message === "chat reply" && l.reply_id === journey.replyId)!;
    assert.equal(reply.chat_id, journey.chatId);
    assert.equal(reply.reply_id, journey.replyId);
    assert.equal(reply.status, "complete");
    assert.ok(reply.first_token_ms >= 0 && reply.duration_ms >= reply.first_token_ms);
    const sent = lines.find(
      (l) => l.message === "request" && l.route === "/v1/chats/:chat_id/messages" && l.request_id === reply.correlation_id,
    );
    assert.ok(sent, "the message's request line has the reply's correlation id");
  });
});

describe("correlation: a message's origin travels with it", () => {
  test("a step message keeps its correlation id and persona version through the DLQ and `npm run redrive`", async () => {
    // Prepare: a message sent as the saga sends it, dead-lettered
    const name = `origin-${randomUUID().slice(0, 8)}`;
    const queues = await provision({
      tableName: `remirai-${name}`,
      synthesisQueue: `${name}-synthesis`,
      imageQueue: `${name}-image`,
      mediaBucket: process.env.MEDIA_BUCKET!,
    });
    await stepQueues({ synthesis: queues.synthesisDlqUrl, image: queues.imageDlqUrl }).send(
      "synthesis",
      { uid: "u", sagaId: "s" },
      { correlationId: "req-1", personaVersion: 3 },
    );
    // Act
    assert.equal(await redrive(queues.synthesisDlqUrl, queues.synthesisQueueUrl), 1);
    // Assess: received as Lambda's event shows it, the origin is there
    const { Messages = [] } = await sqsClient().send(
      new ReceiveMessageCommand({ QueueUrl: queues.synthesisQueueUrl, MessageAttributeNames: ["All"], WaitTimeSeconds: 1 }),
    );
    const attributes = Object.fromEntries(
      Object.entries(Messages[0]?.MessageAttributes ?? {}).map(([k, v]) => [k, { stringValue: v.StringValue, dataType: v.DataType! }]),
    );
    assert.deepEqual(traceOf({ messageAttributes: attributes as never }), { correlationId: "req-1", personaVersion: 3 });
  });
});
