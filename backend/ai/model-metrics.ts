/**
 * What a model call's outcome says in metrics (backend/ports/metrics.ts): how long an answer
 * took, the tokens it used, and what kind of error it was when there was none — a few kinds,
 * never a message.
 */
import { noMetrics, type Metrics } from "../ports/metrics.ts";
import { InvalidModelOutputError, ModelRefusedError, ModelUnavailableError, type Usage } from "./ports.ts";
import { CircuitOpenError, isTransient, TimeoutError } from "./resilience.ts";

export type ModelErrorKind =
  | "circuit_open"
  | "timeout"
  | "rate_limited"
  | "server_error"
  | "rejected"
  | "network"
  | "refused"
  | "invalid_output"
  | "other";

/** @example errorKind(new ModelUnavailableError("x", { cause: new TimeoutError(60_000) })) // "timeout" */
export function errorKind(error: unknown): ModelErrorKind {
  if (error instanceof ModelRefusedError) return "refused";
  if (error instanceof InvalidModelOutputError) return "invalid_output";
  const cause = error instanceof ModelUnavailableError ? error.cause : error;
  if (cause instanceof CircuitOpenError) return "circuit_open";
  if (cause instanceof TimeoutError) return "timeout";
  const status = (cause as { status?: unknown } | undefined)?.status;
  if (typeof status === "number") return status === 429 ? "rate_limited" : status >= 500 ? "server_error" : "rejected";
  return isTransient(cause) ? "network" : "other";
}

type ModelCall = "streamText" | "generateJson" | "generateImage";

/** The metrics one guarded model records. */
export class ModelMeter {
  constructor(private readonly metrics: Pick<Metrics, "record"> = noMetrics) {}

  /** The model answered `call` (the whole answer: a stream's last chunk). */
  answered(call: ModelCall, startedAt: number): void {
    this.metrics.record("ModelLatency", Math.round(performance.now() - startedAt), { call });
  }

  /** Runs a unary call, recording its latency, or the kind of its error. */
  async timed<T>(call: ModelCall, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    try {
      const answer = await work();
      this.answered(call, startedAt);
      return answer;
    } catch (error) {
      this.failed(error, signal);
      throw error;
    }
  }

  /** Tokens a response reported (billed whether or not the answer was used). */
  used(usage: Usage | undefined): void {
    if (usage?.inputTokens) this.metrics.record("ModelInputTokens", usage.inputTokens);
    if (usage?.outputTokens) this.metrics.record("ModelOutputTokens", usage.outputTokens);
  }

  /** The call failed; a caller giving up (`signal` aborted) is not the model's failure. */
  failed(error: unknown, signal?: AbortSignal): void {
    if (!signal?.aborted) this.metrics.record("ModelErrors", 1, { kind: errorKind(error) });
  }

  retried(): void {
    this.metrics.record("ModelRetries");
  }

  breakerOpened(): void {
    this.metrics.record("ModelBreakerOpened");
  }
}
