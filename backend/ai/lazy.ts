/**
 * Providers whose implementation module loads on first use. The Gemini SDK and its
 * dependencies are most of the API bundle; loading them lazily keeps them out of a Lambda
 * cold start that never calls a model (health checks, surveys, reads).
 */
import type { ImageModel, LLM, TextStream } from "./ports.ts";

export function lazyLLM(name: string, load: () => Promise<LLM>): LLM {
  let real: Promise<LLM> | undefined;
  const get = () => (real ??= load());
  return {
    name,
    offline: false,
    streamText(req): TextStream {
      const stream = get().then((llm) => llm.streamText(req));
      return {
        // `yield*` forwards an early `return()` (the consumer left), which aborts the call.
        async *[Symbol.asyncIterator]() {
          yield* await stream;
        },
        usage: async () => (await stream).usage(),
      };
    },
    generateJson: async (req) => (await get()).generateJson(req),
  };
}

export function lazyImages(name: string, load: () => Promise<ImageModel>): ImageModel {
  let real: Promise<ImageModel> | undefined;
  return {
    name,
    offline: false,
    generateImage: async (req) => (await (real ??= load())).generateImage(req),
  };
}
