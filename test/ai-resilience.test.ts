/**
 * Timeouts, retries and the circuit breaker (backend/ai/resilience.ts). Timers are node:test
 * mock timers, sleeps and clocks are injected: nothing here waits for real time.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  backoffDelay,
  CircuitBreaker,
  CircuitOpenError,
  isTransient,
  retry,
  sleep,
  TimeoutError,
  Watchdog,
  withTimeout,
} from "../backend/ai/resilience.ts";

class HttpFailure extends Error {
  override name = "HttpFailure";
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(`HTTP ${status}`);
  }
}

const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

/** A retry harness: `failures` errors are thrown in turn, then "ok". */
function flaky(failures: unknown[]) {
  const attempts: number[] = [];
  const sleeps: number[] = [];
  const work = async (attempt: number) => {
    attempts.push(attempt);
    if (attempts.length <= failures.length) throw failures[attempts.length - 1];
    return "ok";
  };
  return { work, attempts, sleeps, recordSleep: async (ms: number) => void sleeps.push(ms) };
}

describe("isTransient", () => {
  test("429 and 5xx gateway statuses, timeouts and network errors are transient", () => {
    for (const status of [429, 500, 502, 503, 504]) assert.ok(isTransient(new HttpFailure(status)), String(status));
    assert.ok(isTransient(new TimeoutError(10)));
    assert.ok(isTransient(new TypeError("fetch failed", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) })));
    assert.ok(isTransient(new TypeError("terminated")));
    assert.ok(isTransient(Object.assign(new Error("reset"), { code: "ECONNRESET" })));
  });

  test("client errors, unknown errors and an open circuit are not", () => {
    for (const status of [400, 401, 403, 404, 501]) assert.ok(!isTransient(new HttpFailure(status)), String(status));
    assert.ok(!isTransient(new Error("bug")));
    assert.ok(!isTransient(new CircuitOpenError(100)));
    assert.ok(!isTransient("a string"));
  });
});

describe("retry", () => {
  test("full jitter: uniform below min(max, base·2^(n-1))", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0.999)),
      [99, 199, 399, 799, 999],
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffDelay(n, policy, () => 0)),
      [0, 0, 0],
    );
    assert.equal(
      backoffDelay(3, policy, () => 0.5),
      200,
    );
  });

  test("transient failures are retried with jittered backoff until one succeeds", async () => {
    // Prepare
    const h = flaky([new HttpFailure(503), new HttpFailure(429), new TimeoutError(5)]);
    // Act
    const result = await retry(h.work, { ...policy, sleep: h.recordSleep, random: () => 0.5 });
    // Assess
    assert.equal(result, "ok");
    assert.deepEqual(h.attempts, [1, 2, 3, 4]);
    assert.deepEqual(h.sleeps, [50, 100, 200]);
  });

  test("gives up after `attempts` and throws the last error", async () => {
    const h = flaky([new HttpFailure(500), new HttpFailure(502), new HttpFailure(503), new HttpFailure(504)]);
    await assert.rejects(retry(h.work, { ...policy, sleep: h.recordSleep }), { status: 504 });
    assert.equal(h.attempts.length, 4);
    assert.equal(h.sleeps.length, 3);
  });

  test("a non-retryable error is thrown at once", async () => {
    const h = flaky([new HttpFailure(400)]);
    await assert.rejects(retry(h.work, { ...policy, sleep: h.recordSleep }), { status: 400 });
    assert.deepEqual(h.attempts, [1]);
    assert.deepEqual(h.sleeps, []);
  });

  test("the wait a server asks for (Retry-After / retryDelay) is honoured", async () => {
    const h = flaky([new HttpFailure(429, 700)]);
    await retry(h.work, { ...policy, sleep: h.recordSleep, random: () => 0.5 });
    assert.deepEqual(h.sleeps, [700]);
  });

  test("a server asking for a longer wait than maxDelayMs gets no retry", async () => {
    const h = flaky([new HttpFailure(429, 60_000)]);
    await assert.rejects(retry(h.work, { ...policy, sleep: h.recordSleep }), { status: 429 });
    assert.deepEqual(h.attempts, [1]);
  });

  test("never retries once the caller's signal has aborted, and throws its reason", async () => {
    // Prepare
    const controller = new AbortController();
    const attempts: number[] = [];
    const work = async (attempt: number) => {
      attempts.push(attempt);
      controller.abort(new Error("caller left"));
      throw new HttpFailure(503);
    };
    // Act + Assess
    await assert.rejects(retry(work, { ...policy, signal: controller.signal, sleep: async () => {} }), { message: "caller left" });
    assert.deepEqual(attempts, [1]);
  });

  test("an abort during the backoff ends the wait with the caller's reason", async () => {
    // Prepare
    const controller = new AbortController();
    const h = flaky([new HttpFailure(503)]);
    const abortingSleep = (ms: number, signal?: AbortSignal) => {
      controller.abort(new Error("stopped"));
      return sleep(ms, signal);
    };
    // Act + Assess
    await assert.rejects(
      retry(h.work, { ...policy, baseDelayMs: 60_000, maxDelayMs: 60_000, signal: controller.signal, sleep: abortingSleep }),
      { message: "stopped" },
    );
    assert.deepEqual(h.attempts, [1]);
  });
});

describe("withTimeout and Watchdog", () => {
  test("rejects with TimeoutError after ms and aborts the work's signal", async (t) => {
    // Prepare
    t.mock.timers.enable({ apis: ["setTimeout"] });
    let workSignal: AbortSignal | undefined;
    const pending = withTimeout(1_000, (signal) => {
      workSignal = signal;
      return new Promise<never>(() => {});
    });
    // Act
    t.mock.timers.tick(1_000);
    // Assess
    await assert.rejects(pending, TimeoutError);
    assert.ok(workSignal?.aborted);
    assert.ok(workSignal?.reason instanceof TimeoutError);
  });

  test("a result in time wins, and a late tick changes nothing", async (t) => {
    // Prepare
    t.mock.timers.enable({ apis: ["setTimeout"] });
    let workSignal: AbortSignal | undefined;
    const result = await withTimeout(1_000, async (signal) => {
      workSignal = signal;
      return "in time";
    });
    // Act: the time limit passes after the result came.
    t.mock.timers.tick(2_000);
    // Assess: the timer was cleared, so whatever still holds the work's signal (a body
    // being read, a stream being handed out) is not aborted after the fact.
    assert.equal(result, "in time");
    assert.equal(workSignal?.aborted, false);
  });

  test("the caller's abort rejects at once with the caller's reason", async () => {
    const controller = new AbortController();
    const pending = withTimeout(0, () => new Promise<never>(() => {}), controller.signal);
    controller.abort(new Error("gone"));
    await assert.rejects(pending, { message: "gone" });
  });

  test("Watchdog fires only after ms without a reset", (t) => {
    // Prepare
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const fired: TimeoutError[] = [];
    const watchdog = new Watchdog(100, (error) => fired.push(error));
    // Act + Assess
    t.mock.timers.tick(99);
    watchdog.reset();
    t.mock.timers.tick(99);
    assert.equal(fired.length, 0);
    t.mock.timers.tick(1);
    assert.equal(fired.length, 1);
    watchdog.reset();
    watchdog.stop();
    t.mock.timers.tick(1_000);
    assert.equal(fired.length, 1);
  });
});

describe("CircuitBreaker", () => {
  const fail = () => Promise.reject(new HttpFailure(503));
  const succeed = () => Promise.resolve("ok");

  test("closed → open after N consecutive failures → half-open after the cool-down → one trial", async () => {
    // Prepare
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 10_000, now: () => now });
    let calls = 0;
    const counted = () => {
      calls++;
      return fail();
    };
    // Act + Assess: closed until the third consecutive failure
    for (let i = 0; i < 3; i++) await assert.rejects(breaker.run(counted), HttpFailure);
    assert.equal(breaker.state, "open");
    // open: refused without calling, saying how long is left
    now = 4_000;
    await assert.rejects(breaker.run(counted), (error: unknown) => error instanceof CircuitOpenError && error.retryAfterMs === 6_000);
    assert.equal(calls, 3);
    // half-open: one trial at a time; it fails → open again, cool-down from now
    now = 10_000;
    assert.equal(breaker.state, "half-open");
    let releaseTrial!: () => void;
    const trial = breaker.run(() => new Promise((_, reject) => (releaseTrial = () => reject(new HttpFailure(500)))));
    await assert.rejects(breaker.run(succeed), CircuitOpenError);
    releaseTrial();
    await assert.rejects(trial, HttpFailure);
    assert.equal(breaker.state, "open");
    now = 19_999;
    assert.equal(breaker.state, "open");
    // half-open again: the trial succeeds → closed
    now = 20_000;
    assert.equal(await breaker.run(succeed), "ok");
    assert.equal(breaker.state, "closed");
  });

  test("a success resets the count of consecutive failures", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, coolDownMs: 1_000, now: () => 0 });
    await assert.rejects(breaker.run(fail));
    await breaker.run(succeed);
    await assert.rejects(breaker.run(fail));
    assert.equal(breaker.state, "closed");
  });

  test("errors that are not failures (a bad request, an abort) neither count nor reset", async () => {
    // Prepare
    const breaker = new CircuitBreaker({ failureThreshold: 2, coolDownMs: 1_000, now: () => 0 });
    // Act
    await assert.rejects(breaker.run(fail));
    await assert.rejects(breaker.run(() => Promise.reject(new HttpFailure(400))));
    await assert.rejects(breaker.run(() => Promise.reject(new DOMException("aborted", "AbortError"))));
    assert.equal(breaker.state, "closed");
    await assert.rejects(breaker.run(fail));
    // Assess
    assert.equal(breaker.state, "open");
  });

  test("a trial that ends neutrally frees the slot for the next caller", async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 100, now: () => now });
    await assert.rejects(breaker.run(fail));
    now = 100;
    await assert.rejects(breaker.run(() => Promise.reject(new HttpFailure(400))));
    assert.equal(breaker.state, "half-open");
    assert.equal(await breaker.run(succeed), "ok");
    assert.equal(breaker.state, "closed");
  });
});
