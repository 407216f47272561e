/**
 * /healthz and /readyz of the production app against the real local services (DynamoDB
 * Local and fauxqs, started by the test run's global setup).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createApi } from "../backend/api/index.ts";
import { loadConfig } from "../backend/config.ts";
import { nodeTarget } from "./support/targets.ts";

const quiet = { info() {}, error() {} };

async function readyz(env: Record<string, string>) {
  const target = await nodeTarget(createApi(loadConfig({ ...process.env, ...env }), { logger: quiet }));
  try {
    return await target.request("/api/readyz");
  } finally {
    await target.close();
  }
}

describe("readiness", () => {
  test("200 when the table and both queues answer", async () => {
    const res = await readyz({});
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), {
      status: "ready",
      checks: { table: "ok", synthesis_queue: "ok", image_queue: "ok" },
    });
    assert.equal(res.headers["cache-control"], "no-store");
  });

  test("503 with Retry-After when the table is missing", async () => {
    const res = await readyz({ TABLE_NAME: "no-such-table" });
    assert.equal(res.status, 503);
    assert.equal(res.headers["retry-after"], "5");
    assert.equal(JSON.parse(res.body).checks.table, "unreachable");
  });

  test("503 when a queue is missing or not configured", async () => {
    const missing = process.env.IMAGE_QUEUE_URL!.replace(/[^/]+$/, "no-such-queue");
    const res = await readyz({ IMAGE_QUEUE_URL: missing, SYNTHESIS_QUEUE_URL: "" });
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body).checks, { table: "ok", synthesis_queue: "unreachable", image_queue: "unreachable" });
  });

  test("/healthz needs no dependency", async () => {
    const target = await nodeTarget(createApi(loadConfig({ TABLE_NAME: "no-such-table" }), { logger: quiet }));
    try {
      const res = await target.request("/healthz");
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { status: "ok" });
    } finally {
      await target.close();
    }
  });
});
