/**
 * Timeouts, retries and a circuit breaker for calls to a remote dependency that is
 * sometimes slow or overloaded (the AI providers). Nothing here knows Gemini. Clock, sleep
 * and randomness are injectable so tests never wait.
 */
import { setTimeout as delay } from "node:timers/promises";

export class TimeoutError extends Error {
  override name = "TimeoutError";
  constructor(readonly ms: number) {
    super(`Timed out after ${ms} ms`);
  }
}

export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  constructor(readonly retryAfterMs: number) {
    super(`Circuit open: calls are refused for another ${retryAfterMs} ms`);
  }
}

/**
 * Runs `work` with a signal that aborts after `ms` (0 = no limit) or when `signal` aborts.
 * Rejects with TimeoutError, or with the caller's abort reason, without waiting for `work`
 * to notice.
 *
 * @example
 * const reply = await withTimeout(30_000, (signal) => fetch(url, { signal }), callerSignal);
 */
export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
  signal?.throwIfAborted();
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onCallerAbort, { once: true });
  const timer = ms > 0 ? setTimeout(() => controller.abort(new TimeoutError(ms)), ms) : undefined;
  const stopped = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  try {
    return await Promise.race([work(controller.signal), stopped]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onCallerAbort);
  }
}

/** Calls `onTimeout` unless `reset()` comes within `ms` (0 = never): for gaps in a stream. */
export class Watchdog {
  #timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    private readonly onTimeout: (error: TimeoutError) => void,
  ) {
    this.reset();
  }
  reset(): void {
    this.stop();
    // Unref'd: a forgotten watchdog must not keep the process alive; the stream it guards does.
    if (this.ms > 0) this.#timer = setTimeout(() => this.onTimeout(new TimeoutError(this.ms)), this.ms).unref();
  }
  stop(): void {
    clearTimeout(this.#timer);
  }
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
// Socket-level failures worth another try. ENOTFOUND is left out: a wrong host stays wrong.
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** HTTP 429/500/502/503/504 (any error with such a numeric `status`), network errors, timeouts. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  if (!(error instanceof Error)) return false;
  const status = (error as { status?: unknown }).status;
  if (typeof status === "number") return RETRYABLE_STATUS.has(status);
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  // undici's fetch: "fetch failed" before a response, "terminated" when the body is cut.
  return error.name === "TypeError" && (error.message === "fetch failed" || error.message === "terminated");
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Waits `ms`; on abort rejects with the signal's reason (not a generic AbortError). */
export const sleep: Sleep = async (ms, signal) => {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  }
};

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  /** Cap of one backoff; a server asking for a longer wait than this gets no retry. */
  maxDelayMs: number;
}

export interface RetryOptions extends RetryPolicy {
  signal?: AbortSignal;
  isRetryable?: (error: unknown) => boolean;
  /** The wait the server asked for (Retry-After, retryDelay), if any. Default: `error.retryAfterMs`. */
  retryAfterMs?: (error: unknown) => number | undefined;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  sleep?: Sleep;
  random?: () => number;
}

/** "Full jitter": uniform in [0, min(max, base·2^(attempt-1))), so retrying clients spread out. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
}

function serverRetryAfterMs(error: unknown): number | undefined {
  const value = (error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof value === "number" && value >= 0 ? value : undefined;
}

/**
 * Runs `work` until it succeeds, the error is not retryable, or `attempts` are used up;
 * then throws the last error. Never retries once `signal` has aborted (throws its reason).
 *
 * @example
 * const reply = await retry((attempt) => callModel(), { attempts: 3, baseDelayMs: 500, maxDelayMs: 8000 });
 */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal, isRetryable = isTransient, retryAfterMs = serverRetryAfterMs, random = Math.random } = options;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await work(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (attempt >= options.attempts || !isRetryable(error)) throw error;
      const asked = retryAfterMs(error);
      if (asked !== undefined && asked > options.maxDelayMs) throw error;
      const delayMs = Math.max(asked ?? 0, backoffDelay(attempt, options, random));
      options.onRetry?.({ attempt, delayMs, error });
      await wait(delayMs, signal);
    }
  }
}

export type CircuitState = "closed" | "open" | "half-open";

/**
 * Stops calling a dependency that keeps failing, and lets one trial call through after a
 * cool-down:
 *
 *   closed ──(threshold consecutive failures)──▶ open ──(coolDownMs)──▶ half-open
 *     ▲                                           ▲                        │ one trial call
 *     └───────────────── trial succeeds ──────────┼────────────────────────┤
 *                                                 └──── trial fails ───────┘
 *
 * Failures are what `isFailure` says (transient errors by default). Other errors, e.g. the
 * caller aborting, neither count nor reset.
 */
export class CircuitBreaker {
  #failures = 0;
  #openedAt: number | undefined;
  #trialInFlight = false;
  readonly #now: () => number;

  constructor(private readonly options: { failureThreshold: number; coolDownMs: number; now?: () => number; onOpen?: () => void }) {
    this.#now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.#openedAt === undefined) return "closed";
    return this.#now() - this.#openedAt >= this.options.coolDownMs ? "half-open" : "open";
  }

  /** Before a call: throws CircuitOpenError unless the call may go ahead. */
  enter(): void {
    const state = this.state;
    if (state === "closed") return;
    if (state === "half-open" && !this.#trialInFlight) {
      this.#trialInFlight = true;
      return;
    }
    const remaining = state === "open" ? this.#openedAt! + this.options.coolDownMs - this.#now() : this.options.coolDownMs;
    throw new CircuitOpenError(Math.max(0, remaining));
  }

  success(): void {
    this.#failures = 0;
    this.#openedAt = undefined;
    this.#trialInFlight = false;
  }

  failure(): void {
    this.#failures += 1;
    if (this.#trialInFlight || this.#failures >= this.options.failureThreshold) {
      // Opened now, or again after a failed trial: not every failure while it is already open.
      if (this.#openedAt === undefined || this.#trialInFlight) this.options.onOpen?.();
      this.#openedAt = this.#now();
    }
    this.#trialInFlight = false;
  }

  /** The call ended in a way that says nothing about the dependency's health. */
  release(): void {
    this.#trialInFlight = false;
  }

  async run<T>(work: () => Promise<T>, isFailure: (error: unknown) => boolean = isTransient): Promise<T> {
    this.enter();
    try {
      const result = await work();
      this.success();
      return result;
    } catch (error) {
      if (isFailure(error)) this.failure();
      else this.release();
      throw error;
    }
  }
}
