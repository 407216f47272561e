/**
 * De-identifies friends' free text before it goes anywhere near the saga: e-mail addresses,
 * phone numbers, URLs, @handles and names are replaced by placeholders. Names are found two
 * ways: the ones we know (the survey owner's), and capitalised words that do not start a
 * sentence (a heuristic: it over-removes proper nouns like cities, which is the safe side).
 */
const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
const URL_LIKE = /\b(?:https?:\/\/|www\.)\S+/giu;
const HANDLE = /(^|[^\p{L}\p{N}_])@[\p{L}\p{N}_]{2,}(?:\.[\p{L}\p{N}_]+)*/gu;
// 7+ digits, optionally separated by spaces, dots, dashes or parentheses, with an optional +.
const PHONE = /\+?\d(?:[\s().-]*\d){6,}/g;
const CAPITALISED = /(^|[^.!?\s]\s+)(\p{Lu}[\p{L}'’-]+)/gu;

export function scrubText(text: string, knownNames: string[] = []): string {
  let out = text.replace(EMAIL, "[email]").replace(URL_LIKE, "[link]").replace(HANDLE, "$1[handle]").replace(PHONE, "[phone]");
  for (const name of knownNames.flatMap((n) => n.split(/\s+/)).filter((n) => n.length > 1)) {
    out = out.replace(new RegExp(`\\b${escapeRegExp(name)}\\b`, "giu"), "[name]");
  }
  // "I" and its contractions are the one capitalised word that is never a name.
  return out.replace(CAPITALISED, (match, before: string, word: string) =>
    before === "" || /^I(?:['’]\w+)?$/u.test(word) ? match : `${before}[name]`,
  );
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
