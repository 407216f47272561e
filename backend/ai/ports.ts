/**
 * The AI ports the domain talks to: an `LLM` (stream a chat reply; write JSON that must
 * match a schema) and an `ImageModel`. Real adapters live in gemini.ts, offline ones in
 * offline.ts; providers.ts picks one from the environment.
 */
import type { z } from "zod";

export interface ChatTurn {
  role: "user" | "model";
  text: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface TextStream extends AsyncIterable<string> {
  /**
   * Resolves once the stream has ended, however it ended (done, failed, aborted, left
   * early), with the last usage the model reported; never rejects. Errors come from the loop.
   */
  usage(): Promise<Usage>;
}

export interface LLM {
  /** What answers, for logs and responses, e.g. "gemini:gemini-2.5-flash" or "offline". */
  readonly name: string;
  readonly offline: boolean;
  /**
   * Streams the reply text chunk by chunk as the model produces it. Aborting `signal`
   * aborts the HTTP call; so does leaving the loop early (`break`).
   *
   * @example
   * for await (const text of llm.streamText({ system, turns, signal })) send(text);
   */
  streamText(req: { system: string; turns: ChatTurn[]; maxOutputTokens?: number; signal?: AbortSignal }): TextStream;
  /**
   * JSON output that must match `schema`. Invalid or non-JSON output is rejected and asked
   * again, up to `attempts` (default 3) times in all; then throws InvalidModelOutputError.
   * `onUsage` hears the tokens of every call made (rejected attempts too: they are billed).
   */
  generateJson<S extends z.ZodType>(req: {
    system: string;
    prompt: string;
    schema: S;
    attempts?: number;
    signal?: AbortSignal;
    onUsage?: (usage: Usage) => void;
  }): Promise<z.infer<S>>;
}

export interface ImageModel {
  readonly name: string;
  readonly offline: boolean;
  generateImage(req: { prompt: string; signal?: AbortSignal }): Promise<{ bytes: Uint8Array; contentType: string }>;
}

/**
 * The model cannot be reached or keeps failing: circuit open, or retries exhausted on
 * 429/5xx/timeouts/network errors. `retryable` is false only when the provider refused the
 * request itself (bad key, bad request): trying again later will not help.
 */
export class ModelUnavailableError extends Error {
  override name = "ModelUnavailableError";
  readonly retryable: boolean;
  /** How long the provider asked us to wait, when it said so. */
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options: { cause?: unknown; retryable?: boolean; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? true;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The model answered, but not with what was asked for (bad JSON, schema mismatch, no image). */
export class InvalidModelOutputError extends Error {
  override name = "InvalidModelOutputError";
  constructor(
    message: string,
    readonly attempts: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

/** The model declined: a safety block on the prompt or a finish reason such as SAFETY. */
export class ModelRefusedError extends Error {
  override name = "ModelRefusedError";
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}
