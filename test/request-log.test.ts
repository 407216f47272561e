/**
 * The request log under load: the API entry (backend/main.ts, as the Lambda Web Adapter runs
 * it) writes its request lines once per event-loop turn (backend/log.ts), and none may be
 * lost. 10,000 requests, then SIGTERM at once: exactly 10,000 request lines, each the usual
 * one-line JSON object.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
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
