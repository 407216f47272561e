/**
 * A persona as others see it: the public card, and its export as a Character Card V3
 * (https://github.com/kwaroran/character-card-spec-v3, SPEC_V3.md; fields from CCv2).
 *
 * Both are built only from the ready version's checked fields and numbers (card text,
 * trait means, Johari arena, answer count): friends' own answers are not on the persona
 * and never reach a card. Model-written text is made plain again here (defence in depth:
 * the writer's schema already refuses markup), because these cards are shown to strangers.
 */
import { createHash } from "node:crypto";
import { mediaUrl } from "../ports/media.ts";
import { chatSystemPrompt } from "../personas/writer.ts";
import { publishedPortrait, type PersonaCard, type ReadyPersona } from "../personas/model.ts";
import { TRAITS, type Trait } from "../surveys/questions.ts";

const MARKDOWN_IMAGE = /!\[[^\]\n]*\]\([^)\n]*\)?/g;
const MARKDOWN_LINK = /\[([^\]\n]*)\]\([^)\n]*\)?/g;
const MARKDOWN_LINK_DEFINITION = /^[ \t]*\[[^\]\n]+\]:[^\n]*$/gm;
const HTML_TAG = /<\/?[a-z!?][^<>\n]*>/gi;
/** A tag opener left without its `>`: never a tag again once it is gone. */
const DANGLING_TAG = /<(?=[a-z!?/])/gi;
const URL_LIKE = /\b(?:https?|ftp|file):\/\/\S*|\b(?:data|javascript|vbscript|mailto|blob):\S+|\bwww\.\S+/gi;
/** C0 controls but tab and newline, DEL, zero-width and bidi overrides (text that lies about its order). */
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g;

/**
 * Removes markup until nothing more is removed (a removal can expose a new match, as in
 * nested tags). Every change shortens the text, so this ends; fields are short anyway.
 */
function stripMarkup(text: string): string {
  let out = text;
  for (;;) {
    const before = out;
    out = out
      .replace(MARKDOWN_IMAGE, "")
      .replace(MARKDOWN_LINK, "$1")
      .replace(MARKDOWN_LINK_DEFINITION, "")
      .replace(HTML_TAG, "")
      .replace(URL_LIKE, "")
      .replace(INVISIBLE, "");
    // Dangling openers last, so `<scr<script>ipt>` first becomes a whole tag and goes whole.
    if (out === before) out = out.replace(DANGLING_TAG, "");
    if (out === before) break;
  }
  return out;
}

/**
 * Text safe to show to strangers as plain text: markdown images and HTML removed, links
 * reduced to their text, bare URLs and invisible/bidi characters removed, spaces tidied.
 * Other punctuation (asterisks, "<3") stays: it is harmless as plain text.
 * @example plainText("Hi ![x](https://t.co/p.png) [me](https://evil)") // "Hi me"
 */
export function plainText(text: string): string {
  return stripMarkup(text.replace(/\r\n?/g, "\n"))
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Whether `text` carries anything `plainText` would remove (used to refuse model output). */
export function hasMarkup(text: string): boolean {
  const lines = text.replace(/\r\n?/g, "\n");
  return stripMarkup(lines) !== lines;
}

/** The card text fields, each made plain. */
function plainCard(card: PersonaCard): PersonaCard {
  return {
    name: plainText(card.name),
    tagline: plainText(card.tagline),
    personality: plainText(card.personality),
    speaking_style: plainText(card.speaking_style),
    greeting: plainText(card.greeting),
    interests: card.interests.map(plainText).filter(Boolean),
    visual_description: plainText(card.visual_description),
  };
}

export interface PublicCard {
  persona_id: string;
  version: number;
  name: string;
  tagline: string;
  /** Big Five means (1–7) as friends rated the person. */
  traits: Record<Trait, number>;
  /** Johari arena: adjectives both the person and their friends chose. */
  arena: string[];
  /** Null while the portrait's public copy is not there (it is made when the persona goes public). */
  illustration_url: string | null;
  answer_count: number;
}

/** The public card of a ready persona (no I/O). */
export function cardOf(persona: ReadyPersona, mediaBaseUrl: string): PublicCard {
  const { current } = persona;
  const card = plainCard(current.card);
  return {
    persona_id: persona.personaId,
    version: current.version,
    name: card.name,
    tagline: card.tagline,
    traits: Object.fromEntries(TRAITS.map((t) => [t, current.traits[t]])) as Record<Trait, number>,
    arena: [...current.arena],
    illustration_url: portraitUrl(persona, mediaBaseUrl) ?? null,
    answer_count: current.answerCount,
  };
}

/** Only the public copy of a portrait is ever shown to others: its private original is never served. */
function portraitUrl(persona: ReadyPersona, mediaBaseUrl: string): string | undefined {
  const key = publishedPortrait(persona);
  return key === undefined ? undefined : mediaUrl(mediaBaseUrl, key);
}

/** Our application's key in `data.extensions` (CCv2: "namespace any key"). */
export const EXTENSION_KEY = "remirai" as const;

export interface CharaCardAsset {
  type: string;
  uri: string;
  name: string;
  ext: string;
}

/** SPEC_V3's CharacterCardV3, minus the fields we never fill (character_book, nickname, …). */
export interface CharaCardV3 {
  spec: "chara_card_v3";
  spec_version: "3.0";
  data: {
    name: string;
    description: string;
    tags: string[];
    creator: string;
    character_version: string;
    mes_example: string;
    extensions: { [EXTENSION_KEY]: { persona_id: string; version: number } };
    system_prompt: string;
    post_history_instructions: string;
    first_mes: string;
    alternate_greetings: string[];
    personality: string;
    scenario: string;
    creator_notes: string;
    assets: CharaCardAsset[];
    group_only_greetings: string[];
    /** Unix seconds (UTC): when this version became ready. */
    modification_date: number;
  };
}

/** SPEC_V3: `ext` is a lowercase extension without the dot, or `unknown`. */
function extensionOf(key: string): string {
  const ext = /\.([a-z0-9]{1,8})$/i.exec(key)?.[1]?.toLowerCase();
  return ext ?? "unknown";
}

/** The Character Card V3 export of a ready persona (no I/O). */
export function charaCardOf(persona: ReadyPersona, mediaBaseUrl: string): CharaCardV3 {
  const { current } = persona;
  const card = plainCard(current.card);
  const portrait = portraitUrl(persona, mediaBaseUrl);
  const scores = TRAITS.map((t) => `${t.replace("_", " ")} ${current.traits[t].toFixed(1)}`).join(", ");
  const arena = current.arena.length ? ` Both they and their friends would call them ${current.arena.join(", ")}.` : "";
  const description = [
    card.tagline,
    card.personality,
    `Speaking style: ${card.speaking_style}`,
    card.interests.length ? `Interests: ${card.interests.join(", ")}` : "",
    `Appearance: ${card.visual_description}`,
  ].filter(Boolean);
  return {
    spec: "chara_card_v3",
    spec_version: "3.0",
    data: {
      name: card.name,
      description: description.join("\n\n"),
      tags: ["remirai", "ai-persona", ...current.arena],
      creator: "Re:MirAI",
      character_version: String(current.version),
      mes_example: "",
      extensions: { [EXTENSION_KEY]: { persona_id: persona.personaId, version: current.version } },
      // Rebuilt from the plain fields rather than the stored prompt: only plain text leaves.
      // Its data-block marker is fixed per version, so the export (and its ETag) is stable:
      // the card's text is stripped of the marker either way.
      system_prompt: chatSystemPrompt(
        card,
        current.traits,
        current.arena,
        createHash("sha256").update(`${persona.personaId}:${current.version}`).digest("base64url").slice(0, 16),
      ),
      post_history_instructions: "",
      first_mes: card.greeting,
      alternate_greetings: [],
      personality: `Big Five as friends rated them (1-7): ${scores}.${arena}`,
      scenario:
        "{{char}} is an AI persona from Re:MirAI: a mirror of a real person, written from what their friends said about them in an anonymous survey. {{user}} is chatting with {{char}}.",
      creator_notes: `A Re:MirAI persona (version ${current.version}), written by ${current.writer} from the aggregated answers of ${current.answerCount} friends; no friend's own words are included. Portrait by ${current.illustrator}.`,
      assets: portrait === undefined ? [] : [{ type: "icon", uri: portrait, name: "main", ext: extensionOf(portrait) }],
      group_only_greetings: [],
      modification_date: Math.floor(Date.parse(current.readyAt) / 1000),
    },
  };
}
