/**
 * De-identifies friends' free text before it goes anywhere near the saga.
 *
 * 1. Invisible characters go: bidi controls, zero-width characters, tag characters and the
 *    rest of Unicode's default-ignorable set (they hide text from a reader and split words a
 *    pattern would catch), and control characters; then NFKC folds look-alike forms
 *    (full-width letters, ligatures) onto the plain ones.
 * 2. Contact details become placeholders: e-mail addresses, links and bare domains, @handles,
 *    phone numbers.
 * 3. Names become `[name]`: the ones we know (the survey owner's), and capitalised words
 *    that are not where capitals are expected anyway. Not removed: the start of a sentence
 *    (also after a closing quote, an opening quote or bracket, a list bullet), acronyms and
 *    words with inner capitals (JSON, NHS, iPhone, TikTok), and closed classes that are
 *    capitalised but name no one (days, months, holidays, languages and nationalities,
 *    religions, titles and family words). A sentence-initial word is a name when the same
 *    word is one elsewhere in the text, or in "Jamal and I". Measured on
 *    fixtures/scrub-names.ts (test/scrub-names.test.ts).
 */
import { NOT_NAME_PHRASES, NOT_NAMES, TITLES } from "./not-names.ts";

const INVISIBLE = /[\p{Default_Ignorable_Code_Point}]/gu;
// Control characters but tab and line breaks, which stay as layout.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

export const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
export const URL_LIKE = /\b(?:[a-z][a-z0-9+.-]*:\/\/|www\.)\S+/giu;
/** A host name on a common top-level domain, without a scheme: "find me at mira.dev". */
export const BARE_DOMAIN =
  /\b[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.(?:com|net|org|io|ai|app|dev|co|me|ly|gg|xyz|info|biz|site|online|link|page|uk|de|jp|fr|es|it|nl|ca|au|in|br|ru|cn)\b/giu;
export const HANDLE = /(^|[^\p{L}\p{N}_])@[\p{L}\p{N}_]{2,}(?:\.[\p{L}\p{N}_]+)*/gu;
// 7+ digits, optionally separated by spaces, dots, dashes or parentheses, with an optional +.
export const PHONE = /\+?\d(?:[\s().-]*\d){6,}/g;

const WORD = /[\p{L}\p{M}]+(?:['’-][\p{L}\p{M}]+)*/gu;
const POSSESSIVE = /['’]s$/u;
// Where a capital is expected: the start, after a sentence's end (and any closing quote or
// bracket), or a new line with an optional bullet; then any opening quotes or brackets.
const SENTENCE_START = /(?:(?:^|\n)[ \t]*(?:[-*•–]|\d+[.)])?[ \t]*|([\p{L}\p{N}]*)[.!?…]+['"”’»)\]]*\s+)['"“‘«„([]*$/u;
// Quoted speech starts with a capital wherever it opens.
const OPENING_QUOTE = /(?:^|[\s([:,])["“‘«„']$/u;

/** Text without invisible and control characters, in NFKC form. */
export function withoutInvisibles(text: string): string {
  return text.normalize("NFKC").replace(INVISIBLE, "").replace(CONTROL, " ");
}

function withoutContacts(text: string): string {
  return text
    .replace(EMAIL, "[email]")
    .replace(URL_LIKE, "[link]")
    .replace(BARE_DOMAIN, "[link]")
    .replace(HANDLE, "$1[handle]")
    .replace(PHONE, "[phone]");
}

interface Word {
  start: number;
  /** The word without a possessive 's. */
  text: string;
  initial: boolean;
}

function sentenceInitial(text: string, at: number): boolean {
  const before = text.slice(0, at);
  if (OPENING_QUOTE.test(before)) return true;
  const match = SENTENCE_START.exec(before);
  // "Dr. Lee": a title's full stop ends no sentence.
  return match !== null && !TITLES.has((match[1] ?? "").toLowerCase());
}

/** A capitalised word that could be a name, wherever it stands. */
function nameShaped(word: string): boolean {
  if (!/^\p{Lu}\p{Ll}/u.test(word) || /^I(?:['’]\p{L}+)?$/u.test(word)) return false;
  if (NOT_NAMES.has(word.toLowerCase()) || TITLES.has(word.toLowerCase())) return false;
  // Inner capitals mark brands and terms (TikTok, PhD, JavaScript), except name prefixes (McDonald, DeShawn, O'Brien).
  const inner = /\p{Lu}/u.test(word.slice(1).replace(/(?<=['’-])\p{Lu}/gu, ""));
  return !inner || /^(?:Mc|Mac|Di|De|Da|Du|La|Le|Van|Von)\p{Lu}/u.test(word);
}

/** Where the names are in `text` (contacts already replaced): each with its offset. */
function nameSpans(text: string, knownNames: readonly string[]): { start: number; text: string }[] {
  const holidays = [...text.matchAll(NOT_NAME_PHRASES)].map((m) => [m.index, m.index + m[0].length] as const);
  const words: Word[] = [...text.matchAll(WORD)]
    .filter((m) => !holidays.some(([from, to]) => m.index >= from && m.index < to))
    .map((m) => ({
      start: m.index,
      text: m[0].replace(POSSESSIVE, ""),
      initial: sentenceInitial(text, m.index),
    }));
  const known = new Set(knownNames.flatMap((n) => n.split(/\s+/)).map((n) => n.toLowerCase()));
  const names = new Set(words.filter((w) => known.has(w.text.toLowerCase()) || (!w.initial && nameShaped(w.text))).map((w) => w.text));
  const isName = (w: Word | undefined) => w !== undefined && (names.has(w.text) || known.has(w.text.toLowerCase()));
  return words
    .filter((w) => {
      if (isName(w)) return true;
      // "Jamal and I": a sentence-initial word that names someone.
      return w.initial && nameShaped(w.text) && /^\s+(?:and|&)\s+(?:I|me)\b/u.test(text.slice(w.start + w.text.length));
    })
    .map(({ start, text }) => ({ start, text }));
}

/** The words `scrubText` replaces by `[name]`, in order (possessive 's dropped). */
export function namesIn(text: string, knownNames: readonly string[] = []): string[] {
  return nameSpans(withoutContacts(withoutInvisibles(text)), knownNames).map((w) => w.text);
}

export function scrubText(text: string, knownNames: readonly string[] = []): string {
  const out = withoutContacts(withoutInvisibles(text));
  let scrubbed = "";
  let at = 0;
  for (const span of nameSpans(out, knownNames)) {
    scrubbed += `${out.slice(at, span.start)}[name]`;
    at = span.start + span.text.length;
  }
  return scrubbed + out.slice(at);
}
