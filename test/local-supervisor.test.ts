/**
 * The back-off of run.sh's supervisor (backend/local/supervisor.ts) when a service will not
 * come back. The real restart (a killed DynamoDB Local and fauxqs under ./run.sh) is in
 * test/local-stack.test.ts; here the service is a stand-in whose start always fails.
 */
import assert from "node:assert/strict";
import { once, EventEmitter } from "node:events";
import { test } from "node:test";
import type { LocalService } from "../backend/local/service-process.ts";
import { supervise } from "../backend/local/supervisor.ts";

function deadService(): LocalService {
  return {
    name: "stand-in",
    endpoint: "http://127.0.0.1:1",
    pid: 1,
    exited: Promise.resolve({ code: 1, signal: null }),
    stop: async () => {},
    outputTail: () => "boom",
  };
}

test("a service that keeps failing to start is tried again after a doubling wait, capped, and not once stopping", async () => {
  // Prepare
  const logged = new EventEmitter();
  const lines: { message: string; attributes: Record<string, unknown> }[] = [];
  const log = {
    info: (message: string, attributes: Record<string, unknown>) => void lines.push({ message, attributes }),
    error: (message: string, attributes: Record<string, unknown>) => {
      lines.push({ message, attributes });
      logged.emit("line");
    },
  };
  let starts = 0;
  let stopping = false;
  const start = async (): Promise<LocalService> => {
    starts += 1;
    throw new Error("port in use");
  };

  // Act
  const supervising = supervise(deadService(), { label: "stand-in", start }, log, () => stopping, {
    firstMs: 5,
    maxMs: 20,
    stableMs: 60_000,
  });
  while (lines.filter((l) => l.message === "stand-in did not restart; trying again").length < 4) await once(logged, "line");
  stopping = true;
  const startsWhenStopped = starts;
  await supervising;

  // Assess
  assert.equal(lines[0]!.message, "stand-in exited unexpectedly; restarting it");
  assert.deepEqual(lines[0]!.attributes, { pid: 1, code: 1, signal: null, output: "boom" });
  const waits = lines.filter((l) => l.message.endsWith("trying again")).map((l) => l.attributes.retry_in_ms);
  assert.deepEqual(waits.slice(0, 4), [10, 20, 20, 20]);
  assert.equal(starts, startsWhenStopped, "no start once stopping");
});
