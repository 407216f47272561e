/** Sharing: persona cards (and their Character Card V3 export) and chemistry between two personas. */
import { z } from "zod";
import { TRAITS } from "../../surveys/questions.ts";
import { operation } from "./operation.ts";
import { AbsoluteUrl, named, PersonaId, PersonaRef } from "./schemas.ts";

const TraitMeans = z.strictObject(Object.fromEntries(TRAITS.map((t) => [t, z.number()])));

export const PublicCard = named(
  "PublicCard",
  z.strictObject({
    persona_id: PersonaId,
    version: z.number().int().min(1),
    name: z.string(),
    tagline: z.string(),
    traits: TraitMeans.describe("Big Five means (1–7) as friends rated the person."),
    arena: z.array(z.string()).describe("Johari arena: adjectives both the person and their friends chose."),
    illustration_url: AbsoluteUrl.nullable().describe(
      "The portrait's public, cacheable copy. Null on the owner's own card (`me`) while private: it has no public copy; the owner reads it at `GET /v1/personas/me/portrait`.",
    ),
    answer_count: z.number().int().min(0),
  }),
  "A persona's card as anyone may see it.",
);

export const CharaCardV3 = named(
  "CharaCardV3",
  z.strictObject({
    spec: z.literal("chara_card_v3"),
    spec_version: z.literal("3.0"),
    data: z.strictObject({
      name: z.string(),
      description: z.string(),
      tags: z.array(z.string()),
      creator: z.string(),
      character_version: z.string(),
      mes_example: z.string(),
      extensions: z.record(z.string(), z.unknown()),
      system_prompt: z.string(),
      post_history_instructions: z.string(),
      first_mes: z.string(),
      alternate_greetings: z.array(z.string()),
      personality: z.string(),
      scenario: z.string(),
      creator_notes: z.string(),
      assets: z.array(z.strictObject({ type: z.string(), uri: z.string(), name: z.string(), ext: z.string() })),
      group_only_greetings: z.array(z.string()),
      modification_date: z.number().int(),
    }),
  }),
  "The card as a Character Card V3 (https://github.com/kwaroran/character-card-spec-v3).",
);

const Blurb = z.strictObject({
  text: z.string(),
  source: z.enum(["model", "offline", "offline_fallback"]),
  model: z.string().nullable(),
  reason: z.enum(["model_failed", "rate_limited", "limit_unavailable"]).nullable().describe("Why a configured model did not write it."),
});

export const Chemistry = named(
  "Chemistry",
  z.strictObject({
    a: z.strictObject({ persona_id: PersonaId, name: z.string() }),
    b: z.strictObject({ persona_id: PersonaId, name: z.string() }),
    score: z.number().int().min(0).max(100),
    breakdown: z.strictObject({
      formula: z.literal("v1"),
      similarity: z.number(),
      complementarity: z.number(),
      adjective_overlap: z.number().nullable(),
      shared_adjectives: z.array(z.string()),
      weights: z.strictObject({ similarity: z.number(), complementarity: z.number(), adjective_overlap: z.number() }),
      traits: z.strictObject(
        Object.fromEntries(TRAITS.map((t) => [t, z.strictObject({ similarity: z.number(), balance: z.number().nullable() })])),
      ),
    }),
    blurb: Blurb.nullable(),
  }),
  "A deterministic score (docs/chemistry.md) with its breakdown, and an optional blurb.",
);

const CardParams = z.object({ persona_id: PersonaRef });

export const social = {
  card: operation({
    operationId: "getPersonaCard",
    method: "GET",
    path: "/v1/personas/:persona_id/card",
    tag: "social",
    summary: "A persona's card, or its Character Card V3 export",
    description:
      "Anyone, for a public ready persona (cacheable; unknown, private and unready alike are 404). `me`: the signed-in caller's own card in any visibility (422 while not ready; never shared by caches).",
    auth: "anyone",
    optionalAuth: true,
    params: CardParams,
    query: z.object({ format: z.enum(["card", "chara_card_v3"]).default("card").describe("`chara_card_v3`: the export, as a download.") }),
    responses: {
      200: { description: "The card (or the export).", body: z.union([PublicCard, CharaCardV3]), headers: ["etag"] },
      304: { description: "Unchanged since the ETag sent.", headers: ["etag"] },
    },
    errors: ["persona_not_ready"],
  }),
  chemistry: operation({
    operationId: "getChemistry",
    method: "GET",
    path: "/v1/personas/:persona_id/chemistry/:other_persona_id",
    tag: "social",
    summary: "Chemistry between two personas",
    description: "Each side public, or the caller's own (`me`); anything else is 404. The caller's own not ready yet: 422.",
    auth: "user",
    params: z.object({ persona_id: PersonaRef, other_persona_id: PersonaRef }),
    query: z.object({ blurb: z.enum(["true", "false", "1", "0"]).default("true").describe("Whether to add a blurb.") }),
    responses: { 200: { description: "The score.", body: Chemistry } },
    errors: ["persona_not_ready"],
  }),
};
