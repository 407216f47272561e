/**
 * The chat suites' start: a saga stack whose model is the fake Gemini server (persona cards
 * and portraits unless a test enqueues otherwise), and one owner with a ready persona.
 */
import { startFakeGemini, type Behaviour, type FakeGemini } from "../../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../../fixtures/model-fixtures.ts";
import { ownerWithReadyPersona, sagaStack, type SagaStack } from "./saga.ts";

export interface ChatStack {
  gemini: FakeGemini;
  stack: SagaStack;
  owner: { uid: string; personaId: string };
  close(): Promise<void>;
}

/** @example ({ gemini, stack, owner } = await chatStack({ CHAT_LEASE_MS: "1500" })); */
export async function chatStack(env: Record<string, string> = {}): Promise<ChatStack> {
  const gemini = await startFakeGemini({
    apiKey: "test-key",
    fallback: (r): Behaviour =>
      r.model.includes("image") ? { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png" } : { kind: "json", value: PERSONA_CARD },
  });
  const stack = await sagaStack({ GEMINI_API_KEY: "test-key", GEMINI_BASE_URL: gemini.url, CHAT_MESSAGES_PER_MINUTE: "1000", ...env });
  const owner = await ownerWithReadyPersona(stack.target);
  return {
    gemini,
    stack,
    owner,
    async close() {
      await stack.close();
      await gemini.close();
    },
  };
}
