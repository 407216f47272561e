/**
 * Gemini behind the AI ports, through the maintained `@google/genai` SDK. Every call goes
 * through one guarded path per provider instance: circuit breaker → timeout → retries with
 * full jitter on 429/5xx/network errors/timeouts. The SDK's own retries and automatic
 * continuation stay off so that policy lives here alone.
 */
import {
  ApiError,
  GoogleGenAI,
  HarmBlockThreshold,
  HarmCategory,
  Modality,
  type GenerateContentResponse,
  type SafetySetting,
} from "@google/genai";
import { z } from "zod";
import { logger } from "../log.ts";
import type { Metrics } from "../ports/metrics.ts";
import { checkJson, describe, refusalOf, retryDelayMs, textOf, usageOf } from "./gemini-wire.ts";
import { ModelMeter } from "./model-metrics.ts";
import {
  InvalidModelOutputError,
  ModelRefusedError,
  ModelUnavailableError,
  type ChatTurn,
  type ImageModel,
  type LLM,
  type TextStream,
  type Usage,
} from "./ports.ts";
import {
  CircuitBreaker,
  CircuitOpenError,
  isTransient,
  retry,
  TimeoutError,
  Watchdog,
  withTimeout,
  type RetryPolicy,
  type Sleep,
} from "./resilience.ts";

export interface ProviderLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface GeminiOptions {
  apiKey: string;
  model: string;
  /** Where the API lives; tests and the benchmark point it at the fake Gemini server. */
  baseUrl?: string;
  /** Limit of a whole unary call; for streams, of the wait for each chunk (the first included). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  breaker?: { failureThreshold?: number; coolDownMs?: number };
  log?: ProviderLog;
  /** Latency, tokens, errors by kind, retries, breaker openings (backend/ports/metrics.ts). */
  metrics?: Pick<Metrics, "record">;
  /** Seams for tests: nobody waits for a real backoff or cool-down. */
  now?: () => number;
  sleep?: Sleep;
  random?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Set on every call, text and image alike: the Gemini API's adjustable filters are off by
 * default for current models, and what we generate is shown to others (public cards,
 * portraits of a real person) from text strangers wrote. Medium and above for harassment,
 * hate and dangerous content; sexual content from low on (a portrait or card of a real,
 * identifiable person).
 */
export const SAFETY_SETTINGS: SafetySetting[] = [
  { category: HarmCategory.HARM_CATEGORY_HARASSMENT, threshold: HarmBlockThreshold.BLOCK_MEDIUM_AND_ABOVE },
  { category: HarmCategory.HARM_CATEGORY_HATE_SPEECH, threshold: HarmBlockThreshold.BLOCK_MEDIUM_AND_ABOVE },
  { category: HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT, threshold: HarmBlockThreshold.BLOCK_MEDIUM_AND_ABOVE },
  { category: HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT, threshold: HarmBlockThreshold.BLOCK_LOW_AND_ABOVE },
];
const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 8_000 };
// v1beta: structured output (responseJsonSchema) and image output are served there.
const API_VERSION = "v1beta";

/** One model behind its breaker, timeout and retry policy. */
class GuardedModel {
  readonly client: GoogleGenAI;
  readonly name: string;
  readonly breaker: CircuitBreaker;
  readonly timeoutMs: number;
  readonly log: ProviderLog;
  readonly meter: ModelMeter;

  constructor(readonly options: GeminiOptions) {
    // vertexai and apiVersion are explicit so GOOGLE_GENAI_* variables cannot redirect us.
    this.client = new GoogleGenAI({
      apiKey: options.apiKey,
      vertexai: false,
      apiVersion: API_VERSION,
      ...(options.baseUrl ? { httpOptions: { baseUrl: options.baseUrl } } : {}),
    });
    this.name = `gemini:${options.model}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.log = options.log ?? logger;
    this.meter = new ModelMeter(options.metrics);
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breaker?.failureThreshold ?? 5,
      coolDownMs: options.breaker?.coolDownMs ?? 30_000,
      now: options.now,
      onOpen: () => {
        this.meter.breakerOpened();
        this.log.warn("Model circuit opened: calls are refused for a while", { model: this.name });
      },
    });
  }

  /**
   * Runs `attempt` guarded. `timed: false` leaves the timeout to the attempt (streams keep
   * their signal after the first chunk). Errors come out as the ports' errors, or as the
   * caller's abort reason.
   */
  async call<T>(what: string, signal: AbortSignal | undefined, attempt: (signal: AbortSignal) => Promise<T>, timed = true): Promise<T> {
    try {
      return await retry(() => this.breaker.run(() => withTimeout(timed ? this.timeoutMs : 0, attempt, signal)), {
        ...DEFAULT_RETRY,
        ...this.options.retry,
        signal,
        retryAfterMs: retryDelayMs,
        sleep: this.options.sleep,
        random: this.options.random,
        onRetry: ({ attempt, delayMs, error }) => {
          this.meter.retried();
          this.log.warn("Model call failed, retrying", { model: this.name, call: what, attempt, delayMs, failure: describe(error) });
        },
      });
    } catch (error) {
      throw this.failed(error, signal);
    }
  }

  failed(error: unknown, signal?: AbortSignal): unknown {
    if (signal?.aborted) return signal.reason;
    if (error instanceof ModelRefusedError || error instanceof InvalidModelOutputError || error instanceof ModelUnavailableError)
      return error;
    if (error instanceof CircuitOpenError) {
      return new ModelUnavailableError(`${this.name} is unavailable after repeated failures`, {
        cause: error,
        retryAfterSeconds: Math.ceil(error.retryAfterMs / 1000),
      });
    }
    const asked = retryDelayMs(error);
    const retryAfterSeconds = asked === undefined ? undefined : Math.ceil(asked / 1000);
    const retryable = !(error instanceof ApiError) || isTransient(error);
    return new ModelUnavailableError(`${this.name} failed: ${describe(error)}`, { cause: error, retryable, retryAfterSeconds });
  }
}

/** What both Gemini ports share: one guarded model (retries, timeout, breaker) each. */
abstract class GeminiPort {
  readonly offline = false;
  protected readonly model: GuardedModel;

  constructor(options: GeminiOptions) {
    this.model = new GuardedModel(options);
  }

  get name(): string {
    return this.model.name;
  }
}

export class GeminiLLM extends GeminiPort implements LLM {
  streamText(req: { system: string; turns: ChatTurn[]; maxOutputTokens?: number; signal?: AbortSignal }): TextStream {
    let finished!: (usage: Usage) => void;
    const usage = new Promise<Usage>((resolve) => (finished = resolve));
    const chunks = this.#stream(req, (u) => finished(u));
    return { [Symbol.asyncIterator]: () => chunks, usage: () => usage };
  }

  async *#stream(req: Parameters<LLM["streamText"]>[0], finished: (usage: Usage) => void): AsyncGenerator<string> {
    const model = this.model;
    const startedAt = performance.now();
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let opened:
      | {
          chunks: AsyncIterator<GenerateContentResponse>;
          next: IteratorResult<GenerateContentResponse>;
          stop: AbortController;
          watchdog: Watchdog;
        }
      | undefined;
    try {
      // Retries cover opening the stream and its first chunk only: once text has reached
      // the caller, a second attempt would repeat it.
      opened = await model.call(
        "streamText",
        req.signal,
        async () => {
          const stop = new AbortController();
          const watchdog = new Watchdog(model.timeoutMs, (timeout) => stop.abort(timeout));
          const signal = req.signal ? AbortSignal.any([req.signal, stop.signal]) : stop.signal;
          try {
            const stream = await model.client.models.generateContentStream({
              model: model.options.model,
              contents: req.turns.map((turn) => ({ role: turn.role, parts: [{ text: turn.text }] })),
              config: {
                systemInstruction: req.system,
                maxOutputTokens: req.maxOutputTokens,
                safetySettings: SAFETY_SETTINGS,
                abortSignal: signal,
                automaticContinuation: false,
              },
            });
            const chunks = stream[Symbol.asyncIterator]();
            return { chunks, next: await chunks.next(), stop, watchdog };
          } catch (error) {
            watchdog.stop();
            stop.abort();
            throw stop.signal.reason instanceof TimeoutError ? stop.signal.reason : error;
          }
        },
        false,
      );
      let { next } = opened;
      let finishReason: string | undefined;
      while (!next.done) {
        const chunk = next.value;
        usage = usageOf(chunk) ?? usage;
        const refusal = refusalOf(chunk);
        if (refusal) throw refusal;
        finishReason = chunk.candidates?.[0]?.finishReason ?? finishReason;
        const text = textOf(chunk);
        // The watchdog times the model, not a slow reader of this stream.
        opened.watchdog.stop();
        // Chunks already buffered are not handed out once the caller has gone.
        req.signal?.throwIfAborted();
        if (text) yield text;
        opened.watchdog.reset();
        next = await opened.chunks.next();
      }
      if (!finishReason) throw new ModelUnavailableError(`${model.name} ended the reply stream without finishing it`);
      model.meter.answered("streamText", startedAt);
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      const cause = opened?.stop.signal.reason instanceof TimeoutError ? opened.stop.signal.reason : error;
      if (opened && !(cause instanceof ModelRefusedError)) model.breaker.failure();
      const failure = model.failed(cause, req.signal);
      model.meter.failed(failure, req.signal);
      throw failure;
    } finally {
      // Also reached when the caller leaves the loop early: the HTTP call is aborted.
      opened?.watchdog.stop();
      opened?.stop.abort();
      model.meter.used(usage);
      finished(usage);
    }
  }

  async generateJson<S extends z.ZodType>(req: {
    system: string;
    prompt: string;
    schema: S;
    attempts?: number;
    signal?: AbortSignal;
    onUsage?: (usage: Usage) => void;
  }): Promise<z.infer<S>> {
    return this.model.meter.timed("generateJson", req.signal, () => this.#json(req));
  }

  async #json<S extends z.ZodType>(req: Parameters<LLM["generateJson"]>[0] & { schema: S }): Promise<z.infer<S>> {
    const model = this.model;
    const attempts = req.attempts ?? 3;
    const responseJsonSchema = z.toJSONSchema(req.schema, { io: "input", unrepresentable: "any" });
    let problem = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      // A re-ask says what was wrong, never repeating the rejected output.
      const contents =
        attempt === 1
          ? req.prompt
          : `${req.prompt}\n\nYour previous answer was rejected (${problem}). Answer again with only JSON that matches the response schema.`;
      const response = await model.call("generateJson", req.signal, (signal) =>
        model.client.models.generateContent({
          model: model.options.model,
          contents,
          config: {
            systemInstruction: req.system,
            responseMimeType: "application/json",
            responseJsonSchema,
            safetySettings: SAFETY_SETTINGS,
            abortSignal: signal,
            automaticContinuation: false,
          },
        }),
      );
      const used = usageOf(response);
      model.meter.used(used);
      if (used) req.onUsage?.(used);
      const refusal = refusalOf(response);
      if (refusal) throw refusal;
      const checked = checkJson(textOf(response), req.schema);
      if (checked.success) return checked.data;
      problem = checked.problem;
      model.log.warn("Model output rejected", { model: model.name, attempt, attempts, problem });
    }
    throw new InvalidModelOutputError(`${model.name} gave no valid JSON in ${attempts} attempts (${problem})`, attempts);
  }
}

export class GeminiImageModel extends GeminiPort implements ImageModel {
  generateImage(req: { prompt: string; signal?: AbortSignal }): Promise<{ bytes: Uint8Array; contentType: string }> {
    const model = this.model;
    return model.meter.timed("generateImage", req.signal, async () => {
      const response = await model.call("generateImage", req.signal, (signal) =>
        model.client.models.generateContent({
          model: model.options.model,
          contents: req.prompt,
          config: {
            responseModalities: [Modality.IMAGE],
            safetySettings: SAFETY_SETTINGS,
            abortSignal: signal,
            automaticContinuation: false,
          },
        }),
      );
      model.meter.used(usageOf(response));
      const refusal = refusalOf(response);
      if (refusal) throw refusal;
      const image = response.candidates?.[0]?.content?.parts?.find((part) => part.inlineData?.data)?.inlineData;
      if (!image?.data) throw new InvalidModelOutputError(`${model.name} returned no image`, 1);
      return { bytes: new Uint8Array(Buffer.from(image.data, "base64")), contentType: image.mimeType ?? "image/png" };
    });
  }
}
