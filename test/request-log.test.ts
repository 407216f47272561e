/**
 * The request log under load: the API entry (backend/main.ts, as the Lambda Web Adapter runs
 * it) writes its request lines once per event-loop turn (backend/log.ts), and none may be
 * lost. 10,000 requests, then SIGTERM at once: exactly 10,000 request lines, each the usual
 * one-line JSON object. And the line our own formatter writes is the line Powertools writes.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LogAttributes } from "@aws-lambda-powertools/logger/types";
import { flushRequestLines, requestLogger, withLogContext } from "../backend/log.ts";
import { emfMetrics } from "../backend/ports/metrics.ts";
import { killEntryProcesses, startEntryProcess } from "./support/entry-process.ts";
import { ROOT } from "./support/sam-template.ts";
import { freePort } from "./support/stack.ts";

after(() => killEntryProcesses());

const REQUESTS = 10_000;
const CLIENTS = 50;

test("10,000 requests then SIGTERM: exactly 10,000 request lines, each one JSON object with its fields", async () => {
  // Prepare
  const port = await freePort();
  const api = startEntryProcess(process.execPath, ["--import", "tsx", "backend/main.ts"], {
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), PORT: String(port), POWERTOOLS_LOG_LEVEL: "INFO" },
  });
  await api.line(/"message":"api listening"/);
  const base = `http://127.0.0.1:${port}`;

  // Act: 50 clients share the 10,000 requests (a mix of routes and statuses); SIGTERM as soon as the last answer is in
  let sent = 0;
  let answered = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (sent < REQUESTS) {
        const i = sent++;
        const res = await fetch(`${base}${i % 2 === 0 ? "/healthz" : "/v1/nothing-here"}`, { headers: { "x-request-id": `load-${i}` } });
        await res.arrayBuffer();
        answered += 1;
      }
    }),
  );
  api.child.kill("SIGTERM");
  assert.equal(await api.exited, 0);

  // Assess (Powertools leaves out empty fields: no route on a 404 from the router)
  const requestLines = api.lines.filter((line) => line.includes('"message":"request"'));
  assert.equal(answered, REQUESTS);
  assert.equal(requestLines.length, REQUESTS);
  const ids = new Set<string>();
  for (const line of requestLines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.level, "INFO");
    assert.equal(entry.service, "remirai-api");
    assert.equal(typeof entry.duration_ms, "number");
    assert.ok((entry.route === "/healthz" && entry.status === 200) || (entry.route === undefined && entry.status === 404), line);
    ids.add(entry.request_id as string);
  }
  assert.equal(ids.size, REQUESTS);
});

/** The lines `work` queues for the next flush, as written to stdout. */
function printed(work: () => void): string[] {
  const written: string[] = [];
  const write = process.stdout.write;
  flushRequestLines();
  process.stdout.write = ((text: string) => written.push(text) > 0) as typeof process.stdout.write;
  try {
    work();
    flushRequestLines();
  } finally {
    process.stdout.write = write;
  }
  return written.join("").split("\n").filter(Boolean);
}

const ISO_TIME = /"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/;
/** The line's clocks (its timestamp, the EMF document's): the two lines are made a moment apart. */
const withoutClocks = (line: string) => line.replace(ISO_TIME, "").replace(/"Timestamp":\d+/, "");

test("the request line our formatter writes is, byte for byte, the line Powertools writes (context, empty route, EMF, trace id)", () => {
  // Prepare: the lines the API writes (a 404 has no route), in a request's context and a worker's, with metrics riding along
  const metrics = emfMetrics({ namespace: "Remirai-test", enabled: true, service: "remirai-api", write: () => {} });
  const line = (status: number, route: string | null) => ({ method: "GET", route, status, duration_ms: 0.731, request_id: "req-1" });
  const cases: [string, () => object][] = [
    ["plain", () => line(200, "/healthz")],
    ["no route", () => line(404, null)],
    ["EMF", () => metrics.requestLine(503, line(503, "/v1/personas/me"))],
    [
      "EMF with a pending value",
      () => {
        metrics.record("SagaStarted");
        return metrics.requestLine(202, line(202, "/v1/personas/me"));
      },
    ],
  ];
  const contexts = [{ correlation_id: "req-1" }, { service: "remirai-image", saga_id: "s-1", persona_version: 2, step: "image" }];
  const traces = [undefined, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=557abcec3ee5a047;Sampled=1"];
  const level = requestLogger.getLevelName();
  requestLogger.setLogLevel("INFO"); // the tests run at WARN
  for (const trace of traces)
    for (const context of contexts)
      for (const [name, make] of cases) {
        if (trace === undefined) delete process.env._X_AMZN_TRACE_ID;
        else process.env._X_AMZN_TRACE_ID = trace;
        // Act: the same line through our formatter, then through Powertools'
        const ours = printed(() => withLogContext(context, () => requestLogger.request(make())));
        const theirs = printed(() => withLogContext(context, () => requestLogger.info("request", make() as LogAttributes)));
        // Assess: one line each, equal but for the clocks
        assert.equal(ours.length, 1, name);
        assert.equal(theirs.length, 1, name);
        assert.match(ours[0]!, ISO_TIME, name);
        assert.equal(withoutClocks(ours[0]!), withoutClocks(theirs[0]!), `${name}, ${JSON.stringify(context)}, trace ${trace}`);
      }
  delete process.env._X_AMZN_TRACE_ID;
  requestLogger.setLogLevel(level);
});
