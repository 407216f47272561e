/**
 * Deterministic rules a persona card must pass before it is published: defence in depth
 * for when a model obeys an instruction smuggled in through friends' text. The schema
 * already refused markup and links with a scheme; these rules look for what an obedient
 * model would write: instructions to a model, role or policy talk, contact details, links,
 * secrets-like strings, and text aimed at whoever chats with the persona.
 *
 * A card that fails is rewritten offline from the checked numbers (and labelled so); if
 * even that fails (the owner's own name breaks a rule), the saga fails with a reason.
 * The failing text is never stored or logged: only which rule, in which field.
 */
import { logger } from "../log.ts";
import { BARE_DOMAIN, EMAIL, HANDLE, PHONE, URL_LIKE, withoutInvisibles } from "../surveys/scrub.ts";
import type { PersonaCard } from "./model.ts";
import { offlineWriter, type PersonaWriter, type WriterInput } from "./writer.ts";

export type CardRule = "instructions" | "roles" | "contact" | "links" | "secrets" | "aimed_at_user";

export interface CardProblem {
  field: keyof PersonaCard;
  rule: CardRule;
}

// Whoever chats with the persona: "you", "the user" (third persons are friends' descriptions).
const TARGET = String.raw`(?:the user|users?|you|the person|whoever|anyone|everyone)\b`;

/** Matched on the lower-cased, NFKC-folded text with invisible characters removed. */
const RULES: Record<Exclude<CardRule, "secrets">, RegExp[]> = {
  instructions: [
    /\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules?|guidelines?|directions?|messages?|context|programming|constraints?)\b/,
    /\bsystem\s*(?:prompt|message|instructions?)\b/,
    /\byou are now (?:a|an|free|unrestricted|unfiltered|jailbroken|dan|in \w+ mode)\b|\byou are no longer\b|\bfrom now on\b[^.!?\n]{0,30}\byou\b/,
    /\bas an? (?:ai|a\.i\.|artificial intelligence|language model|llm|chatbot)\b/,
    /\b(?:new|updated|real|hidden|secret) (?:instructions?|rules|prompt)\b/,
    /\b(?:jailbreak|developer mode|dan mode|do anything now|prompt injection)\b/,
    /\b(?:reveal|print|repeat|output|disclose|leak)\b[^.!?\n]{0,30}\b(?:prompt|instructions|system|secrets?|passwords?|api keys?|answers)\b/,
    /<\/?\s*(?:system|assistant|user|im_start|im_end|instructions?)\s*>|\[\/?inst\]|<<\/?sys>>|#{2,}\s*(?:system|instruction)/,
    /\b(?:data|persona)-(?:start|end)-/,
  ],
  roles: [
    /\b(?:openai|anthropic|chatgpt|gpt-?\d|claude|llama|mistral|copilot)\b/,
    /\b(?:content|safety|usage|moderation) (?:polic(?:y|ies)|guidelines?|filters?|rules)\b|\bguardrails?\b/,
    /(?:^|[\s"'(])(?:system|assistant|user|human)\s*:/,
    /\bthe (?:user|assistant|chatbot)\b|\b(?:large )?language model\b|\bllm\b/,
  ],
  contact: [EMAIL, HANDLE, PHONE],
  links: [URL_LIKE, BARE_DOMAIN, /\b(?:data|javascript|mailto|tel):/],
  aimed_at_user: [
    new RegExp(
      String.raw`\b(?:insult|mock|humiliate|threaten|harass|abuse|belittle|demean|degrade|bully|manipulate|deceive|curse at|swear at|yell at|scream at|lie to)\b[^.!?\n]{0,20}\b${TARGET}`,
    ),
    /\byou(?:'re|’re| are|r)\s+(?:(?:so|such|an?|a total|really|just)\s+)*(?:stupid|idiot|idiotic|dumb|worthless|useless|pathetic|ugly|fat|loser|moron|garbage|trash|disgusting|nothing|failure|hopeless)\b/,
    /\b(?:shut up|kill yourself|kys|go to hell|f\W?u\W?c\W?k (?:you|off)|screw you|i hate you|you should die|nobody (?:likes|loves|cares about) you)\b/,
  ],
};

/** Case matters for key formats, so these run on the folded text as written. */
const SECRETS: RegExp[] = [
  /\b[0-9a-fA-F]{32,}\b/,
  /(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{32,}={0,2}/,
  /\b(?:sk|pk|rk)[-_](?:live|test|proj)?[-_]?[A-Za-z0-9]{16,}/,
  /\bAKIA[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{35}\b|\b(?:ghp|gho|ghu|ghs|github_pat)_[A-Za-z0-9_]{20,}|\bxox[abprs]-[A-Za-z0-9-]{10,}/,
  /-----BEGIN [A-Z ]+-----|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
];

const fresh = (pattern: RegExp) => new RegExp(pattern.source, pattern.flags.replace("g", ""));

function fieldsOf(card: PersonaCard): [keyof PersonaCard, string][] {
  return (Object.keys(card) as (keyof PersonaCard)[]).map((field) => {
    const value = card[field];
    return [field, Array.isArray(value) ? value.join("\n") : String(value)];
  });
}

/** Every rule each field breaks; empty for a card that may be published. */
export function cardProblems(card: PersonaCard): CardProblem[] {
  const problems: CardProblem[] = [];
  for (const [field, raw] of fieldsOf(card)) {
    const text = withoutInvisibles(raw).replace(/\s+/g, " ");
    const lower = text.toLowerCase();
    for (const [rule, patterns] of Object.entries(RULES) as [CardRule, RegExp[]][]) {
      if (patterns.some((p) => fresh(p).test(p.flags.includes("i") ? text : lower))) problems.push({ field, rule });
    }
    if (SECRETS.some((p) => p.test(text))) problems.push({ field, rule: "secrets" });
  }
  return problems;
}

export type CheckedCard = { card: PersonaCard; writer: string } | { refused: string };

/**
 * The writer's card if it passes the rules; else the offline writer's card from the same
 * checked numbers, labelled; else a reason to fail the saga with. Never the failing card.
 */
export async function writeCheckedCard(writer: PersonaWriter, input: WriterInput, signal?: AbortSignal): Promise<CheckedCard> {
  const card = await writer.write(input, signal);
  const problems = cardProblems(card);
  if (problems.length === 0) return { card, writer: writer.name };
  logger.warn("persona card refused by the card rules", { writer: writer.name, problems: problems.map((p) => `${p.field}:${p.rule}`) });
  if (writer.name !== offlineWriter.name) {
    const rewritten = await offlineWriter.write(input);
    if (cardProblems(rewritten).length === 0) return { card: rewritten, writer: `offline (the ${writer.name} card broke the card rules)` };
  }
  const rules = [...new Set(problems.map((p) => p.rule.replaceAll("_", " ")))].join(", ");
  return { refused: `The written card broke the card rules (${rules}); nothing was published` };
}
