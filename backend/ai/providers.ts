/**
 * Picks the AI providers from the environment: Gemini when GEMINI_API_KEY is set, the
 * offline ones otherwise.
 *
 *   GEMINI_API_KEY       the key (a secret: never logged)
 *   GEMINI_BASE_URL      API base URL; how tests and the benchmark reach the fake server
 *   GEMINI_TEXT_MODEL    default gemini-2.5-flash
 *   GEMINI_IMAGE_MODEL   default gemini-2.5-flash-image
 *   GEMINI_TIMEOUT_MS    default 60000: a whole unary call, or each wait for a stream chunk
 *   GEMINI_BREAKER_FAILURES     default 5: consecutive failures that open the circuit
 *   GEMINI_BREAKER_COOLDOWN_MS  default 30000: how long an open circuit refuses calls
 */
import { logger } from "../log.ts";
import type { Metrics } from "../ports/metrics.ts";
import type { ProviderLog } from "./gemini.ts";
import { lazyImages, lazyLLM } from "./lazy.ts";
import { OfflineImageModel, OfflineLLM } from "./offline.ts";
import type { ImageModel, LLM } from "./ports.ts";

type Env = Record<string, string | undefined>;

export const DEFAULT_TEXT_MODEL = "gemini-2.5-flash";
export const DEFAULT_IMAGE_MODEL = "gemini-2.5-flash-image";
// Same as gemini.ts's default; not imported from there, which would load the SDK eagerly.
const DEFAULT_TIMEOUT_MS = 60_000;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * @example
 * const { llm, images } = createProviders();   // from process.env
 */
export function createProviders(
  env: Env = process.env,
  log: ProviderLog = logger,
  metrics?: Pick<Metrics, "record">,
): { llm: LLM; images: ImageModel } {
  const apiKey = env.GEMINI_API_KEY?.trim();
  if (!apiKey) {
    log.info("AI providers: offline (GEMINI_API_KEY is not set)", { llm: "offline", images: "offline", offline: true });
    return { llm: new OfflineLLM(), images: new OfflineImageModel() };
  }
  const shared = {
    apiKey,
    baseUrl: env.GEMINI_BASE_URL || undefined,
    timeoutMs: int(env, "GEMINI_TIMEOUT_MS", DEFAULT_TIMEOUT_MS),
    breaker: {
      failureThreshold: Math.max(1, int(env, "GEMINI_BREAKER_FAILURES", 5)),
      coolDownMs: int(env, "GEMINI_BREAKER_COOLDOWN_MS", 30_000),
    },
    log,
    metrics,
  };
  const textModel = env.GEMINI_TEXT_MODEL || DEFAULT_TEXT_MODEL;
  const imageModel = env.GEMINI_IMAGE_MODEL || DEFAULT_IMAGE_MODEL;
  // The SDK loads on the first model call, not at start-up (see lazy.ts).
  const llm = lazyLLM(`gemini:${textModel}`, async () => new (await import("./gemini.ts")).GeminiLLM({ ...shared, model: textModel }));
  const images = lazyImages(
    `gemini:${imageModel}`,
    async () => new (await import("./gemini.ts")).GeminiImageModel({ ...shared, model: imageModel }),
  );
  // The origin only: a URL can carry credentials in its user-info part.
  const endpoint = shared.baseUrl ? (URL.parse(shared.baseUrl)?.origin ?? "custom") : "default";
  log.info("AI providers: Gemini", { llm: llm.name, images: images.name, endpoint, offline: false });
  return { llm, images };
}
