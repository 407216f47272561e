/**
 * What Gemini's responses and errors mean for the ports: reply text, usage, refusals, the
 * JSON check, and the wait a 429 asks for. Kept apart from the calling code in gemini.ts.
 */
import { ApiError, type GenerateContentResponse } from "@google/genai";
import { z } from "zod";
import { ModelRefusedError, type Usage } from "./ports.ts";
import { CircuitOpenError, isTransient, TimeoutError } from "./resilience.ts";

// Finish or block reasons that mean the model declined rather than failed.
const REFUSALS = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
  "MODEL_ARMOR",
  "OTHER",
]);

/** The reply text of a response: text parts of the first candidate, thoughts left out. */
export function textOf(response: GenerateContentResponse): string {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  return parts
    .filter((part) => !part.thought && typeof part.text === "string")
    .map((part) => part.text)
    .join("");
}

export function usageOf(response: GenerateContentResponse): Usage | undefined {
  const meta = response.usageMetadata;
  if (!meta) return undefined;
  // Thinking tokens are billed as output.
  return { inputTokens: meta.promptTokenCount ?? 0, outputTokens: (meta.candidatesTokenCount ?? 0) + (meta.thoughtsTokenCount ?? 0) };
}

export function refusalOf(response: GenerateContentResponse): ModelRefusedError | undefined {
  const blocked = response.promptFeedback?.blockReason;
  if (blocked) return new ModelRefusedError(`The prompt was blocked (${blocked})`, blocked);
  const reason = response.candidates?.[0]?.finishReason;
  if (reason && REFUSALS.has(reason)) return new ModelRefusedError(`The model declined to answer (${reason})`, reason);
  return undefined;
}

export function checkJson<S extends z.ZodType>(
  text: string,
  schema: S,
): { success: true; data: z.infer<S> } | { success: false; problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { success: false, problem: "the reply was not JSON" };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { success: true, data: parsed.data };
  const problem = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
  return { success: false, problem };
}

// Gemini puts the wait it wants in the error body: details[{"@type": "...RetryInfo", retryDelay: "7s"}].
const errorBody = z.object({
  error: z.object({ details: z.array(z.looseObject({ "@type": z.string().optional(), retryDelay: z.string().optional() })).optional() }),
});

export function retryDelayMs(error: unknown): number | undefined {
  if (!(error instanceof ApiError)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(error.message.slice(error.message.indexOf("{")));
  } catch {
    return undefined;
  }
  const parsed = errorBody.safeParse(json);
  const delay = parsed.success
    ? parsed.data.error.details?.find((d) => d["@type"]?.endsWith("google.rpc.RetryInfo"))?.retryDelay
    : undefined;
  const seconds = delay === undefined ? NaN : Number.parseFloat(delay);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}

/** A short, key-free account of a failure for logs and messages (never the response body). */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return `HTTP ${error.status}`;
  if (error instanceof TimeoutError || error instanceof CircuitOpenError) return error.message;
  if (isTransient(error)) return "network error";
  return error instanceof Error ? error.name : "unknown error";
}
