/**
 * Helpers for the social tests: the app with the social routes, a JSON Schema of the
 * Character Card V3 field list, a phrase to plant in friends' answers, and a model-backed
 * LLM (the real SDK) talking to the fake Gemini server.
 */
import { randomBytes } from "node:crypto";
import { createProviders } from "../../backend/ai/providers.ts";
import type { LLM } from "../../backend/ai/ports.ts";
import { createApi } from "../../backend/api/index.ts";
import type { Config } from "../../backend/config.ts";
import { startFakeGemini, type FakeGemini } from "../../fixtures/fake-gemini.ts";
import { quiet } from "./saga.ts";
import { nodeTarget, type Target } from "./targets.ts";

/** The production app with `llm` as its model (and a blurb allowance when given). */
export async function socialTarget(config: Config, llm: LLM, options: { blurbsPerHour?: number } = {}): Promise<Target> {
  const settings = options.blurbsPerHour === undefined ? config : { ...config, chemistryBlurbsPerHour: options.blurbsPerHour };
  return nodeTarget(createApi(settings, { logger: quiet, ports: { llm } }));
}

/** A phrase no card could contain by chance (letters only, so text scrubbing leaves it whole). */
export const plantedPhrase = () =>
  `zebra marmalade ${randomBytes(8)
    .toString("hex")
    .replace(/\d/g, (d) => "ghijklmnop"[Number(d)]!)} at midnight`;

const text = { type: "string" } as const;
const texts = { type: "array", items: text } as const;

/**
 * CharacterCardV3 as SPEC_V3.md (kwaroran/character-card-spec-v3) writes it, fields from
 * CCv2 included. Required: every field not marked `?` there. No other fields: the spec
 * says application data goes in `extensions`, never in new fields.
 */
export const charaCardV3Schema = {
  type: "object",
  additionalProperties: false,
  required: ["spec", "spec_version", "data"],
  properties: {
    spec: { type: "string", const: "chara_card_v3" },
    spec_version: { type: "string", const: "3.0" },
    data: {
      type: "object",
      additionalProperties: false,
      required: [
        "name",
        "description",
        "tags",
        "creator",
        "character_version",
        "mes_example",
        "extensions",
        "system_prompt",
        "post_history_instructions",
        "first_mes",
        "alternate_greetings",
        "personality",
        "scenario",
        "creator_notes",
        "group_only_greetings",
      ],
      properties: {
        name: text,
        description: text,
        tags: texts,
        creator: text,
        character_version: text,
        mes_example: text,
        extensions: { type: "object" },
        system_prompt: text,
        post_history_instructions: text,
        first_mes: text,
        alternate_greetings: texts,
        personality: text,
        scenario: text,
        creator_notes: text,
        character_book: {
          type: "object",
          required: ["extensions", "entries"],
          properties: { extensions: { type: "object" }, entries: { type: "array" } },
        },
        assets: {
          type: "array",
          items: {
            type: "object",
            required: ["type", "uri", "name", "ext"],
            properties: {
              type: text,
              // HTTP(S) URL, data URL, an embedded asset's path, or the default asset.
              uri: { type: "string", pattern: "^(https?://|data:|embeded://|ccdefault:)" },
              name: text,
              // A lowercase extension without the dot, or `unknown`.
              ext: { type: "string", pattern: "^[a-z0-9]+$" },
            },
          },
        },
        nickname: text,
        creator_notes_multilingual: {
          type: "object",
          propertyNames: { type: "string", pattern: "^[a-z]{2}$" },
          additionalProperties: text,
        },
        source: texts,
        group_only_greetings: texts,
        creation_date: { type: "number" },
        modification_date: { type: "number" },
      },
    },
  },
} as const;

export interface GeminiBlurbs {
  fake: FakeGemini;
  /** The production Gemini provider (real @google/genai SDK) pointed at the fake server. */
  llm: LLM;
  close(): Promise<void>;
}

export async function startGeminiBlurbs(): Promise<GeminiBlurbs> {
  // Nothing queued is a 400: never retried, so a missing script fails fast and visibly.
  const fake = await startFakeGemini({ apiKey: "test-gemini-key", fallback: { kind: "error", status: 400 } });
  const { llm } = createProviders({ GEMINI_API_KEY: "test-gemini-key", GEMINI_BASE_URL: fake.url }, { info() {}, warn() {} });
  return { fake, llm, close: () => fake.close() };
}
