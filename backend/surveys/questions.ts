/**
 * The survey's question set, shipped with the code and versioned: an answer names the
 * version it answers, and a new version never changes what an old answer meant.
 *
 * v1 has three parts:
 * - Johari window: pick 5–6 of the classic 56 adjectives (Luft & Ingham);
 * - ten 1–7 observer ratings in the style of the Ten-Item Personality Inventory, two per
 *   Big Five trait, one of each pair reverse-keyed (our own wording);
 * - three short free-text prompts, each optional, at most 500 characters.
 */
import { z } from "zod";

export const QUESTION_SET_VERSION: "v1" = "v1";

export const ADJECTIVES = [
  "able",
  "accepting",
  "adaptable",
  "bold",
  "brave",
  "calm",
  "caring",
  "cheerful",
  "clever",
  "complex",
  "confident",
  "dependable",
  "dignified",
  "empathetic",
  "energetic",
  "extroverted",
  "friendly",
  "giving",
  "happy",
  "helpful",
  "idealistic",
  "independent",
  "ingenious",
  "intelligent",
  "introverted",
  "kind",
  "knowledgeable",
  "logical",
  "loving",
  "mature",
  "modest",
  "nervous",
  "observant",
  "organized",
  "patient",
  "powerful",
  "proud",
  "quiet",
  "reflective",
  "relaxed",
  "religious",
  "responsive",
  "searching",
  "self-assertive",
  "self-conscious",
  "sensible",
  "sentimental",
  "shy",
  "silly",
  "spontaneous",
  "sympathetic",
  "tense",
  "trustworthy",
  "warm",
  "wise",
  "witty",
] as const;

export type Adjective = (typeof ADJECTIVES)[number];
export const MIN_ADJECTIVES = 5;
export const MAX_ADJECTIVES = 6;

export const TRAITS = ["extraversion", "agreeableness", "conscientiousness", "emotional_stability", "openness"] as const;
export type Trait = (typeof TRAITS)[number];

/** Each rating item scores one trait; reverse-keyed items count as 8 − rating. */
export const RATING_ITEMS = [
  { id: "outgoing", text: "Outgoing, enthusiastic", trait: "extraversion", reversed: false },
  { id: "critical", text: "Critical, quick to argue", trait: "agreeableness", reversed: true },
  { id: "dependable", text: "Dependable, self-disciplined", trait: "conscientiousness", reversed: false },
  { id: "anxious", text: "Anxious, easily upset", trait: "emotional_stability", reversed: true },
  { id: "open", text: "Open to new experiences, imaginative", trait: "openness", reversed: false },
  { id: "reserved", text: "Reserved, quiet", trait: "extraversion", reversed: true },
  { id: "warm", text: "Sympathetic, warm", trait: "agreeableness", reversed: false },
  { id: "careless", text: "Disorganised, careless", trait: "conscientiousness", reversed: true },
  { id: "stable", text: "Calm, emotionally steady", trait: "emotional_stability", reversed: false },
  { id: "conventional", text: "Conventional, not very creative", trait: "openness", reversed: true },
] as const satisfies readonly { id: string; text: string; trait: Trait; reversed: boolean }[];

export type RatingId = (typeof RATING_ITEMS)[number]["id"];
export const RATING_MIN = 1;
export const RATING_MAX = 7;

export const TEXT_PROMPTS = [
  { id: "strength", prompt: "What are they wonderful at?" },
  { id: "moment", prompt: "Describe a moment that was completely them." },
  { id: "wish", prompt: "What do you wish they knew about themselves?" },
] as const;
export const TEXT_MAX_LENGTH = 500;

const adjective = z.enum(ADJECTIVES);
const adjectives = z
  .array(adjective)
  .min(MIN_ADJECTIVES)
  .max(MAX_ADJECTIVES)
  .refine((list) => new Set(list).size === list.length, "Each adjective may be picked once");
const rating = z.number().int().min(RATING_MIN).max(RATING_MAX);
const ratings = z.strictObject(Object.fromEntries(RATING_ITEMS.map((item) => [item.id, rating])) as Record<RatingId, typeof rating>);
const text = z.string().trim().max(TEXT_MAX_LENGTH);
const texts = z.strictObject(
  Object.fromEntries(TEXT_PROMPTS.map((p) => [p.id, text.optional()])) as Record<
    (typeof TEXT_PROMPTS)[number]["id"],
    z.ZodOptional<typeof text>
  >,
);

/** A friend's anonymous answer. `fingerprint` is the client's opaque device/browser id. */
export const FriendAnswerInput = z.strictObject({
  question_set: z.literal(QUESTION_SET_VERSION).default(QUESTION_SET_VERSION),
  fingerprint: z.string().min(8).max(256),
  answers: z.strictObject({ adjectives, ratings, texts: texts.default({}) }),
});
export type FriendAnswerInput = z.infer<typeof FriendAnswerInput>;

/** The owner's own view of themselves: adjectives for the Johari window, ratings optional. */
export const SelfAnswerInput = z.strictObject({
  question_set: z.literal(QUESTION_SET_VERSION).default(QUESTION_SET_VERSION),
  answers: z.strictObject({ adjectives, ratings: ratings.optional() }),
});
export type SelfAnswerInput = z.infer<typeof SelfAnswerInput>;

export type Answers = FriendAnswerInput["answers"];

/** A friend withdrawing their answer with the receipt its 201 carried (in the body: paths get logged). */
export const WithdrawInput = z.strictObject({ receipt: z.string().min(1).max(200) });
export type WithdrawInput = z.infer<typeof WithdrawInput>;

/** The question set as the public survey page shows it. */
export function questionSet() {
  return {
    version: QUESTION_SET_VERSION,
    adjectives: { min: MIN_ADJECTIVES, max: MAX_ADJECTIVES, options: [...ADJECTIVES] },
    ratings: {
      scale: { min: RATING_MIN, max: RATING_MAX, low: "Disagree strongly", high: "Agree strongly" },
      stem: "I see them as…",
      items: RATING_ITEMS.map(({ id, text }) => ({ id, text })),
    },
    texts: TEXT_PROMPTS.map(({ id, prompt }) => ({ id, prompt, max_length: TEXT_MAX_LENGTH, optional: true })),
  };
}
