/**
 * `npm run chemistry`: computes the chemistry of a few example pairs with the real formula
 * (backend/social/chemistry.ts) and rewrites the table between the chemistry markers in
 * docs/chemistry.md. A test checks the doc still matches the code.
 */
import { readFile, writeFile } from "node:fs/promises";
import { chemistry, type ChemistryProfile } from "../backend/social/chemistry.ts";
import { TRAITS } from "../backend/surveys/questions.ts";

export const DOC = new URL("../docs/chemistry.md", import.meta.url);
const START = "<!-- chemistry:start -->";
const END = "<!-- chemistry:end -->";

/** Big Five means in TRAITS order: extraversion, agreeableness, conscientiousness, emotional stability, openness. */
function persona(traits: [number, number, number, number, number], arena: string[]): ChemistryProfile {
  return { traits: Object.fromEntries(TRAITS.map((t, i) => [t, traits[i]!])) as ChemistryProfile["traits"], arena };
}

const balanced = persona([4, 5, 4.5, 4.5, 4], ["kind", "warm", "witty"]);
const vivid = persona([6.5, 5, 5, 5, 6.5], ["bold", "energetic", "spontaneous"]);
const loud = persona([6.5, 6.5, 6.5, 6.5, 6.5], ["bold", "confident", "energetic", "extroverted"]);
const hushed = persona([1.5, 1.5, 1.5, 1.5, 1.5], ["introverted", "quiet", "reflective", "shy"]);

export const EXAMPLES: { pair: string; a: ChemistryProfile; b: ChemistryProfile }[] = [
  { pair: "identical, mid-scale", a: balanced, b: balanced },
  { pair: "identical, outgoing and curious", a: vivid, b: vivid },
  { pair: "similar but different", a: balanced, b: persona([5, 5.5, 4, 4, 4.5], ["kind", "patient", "warm"]) },
  {
    pair: "complementary: talker and listener",
    a: persona([6.5, 5, 4.5, 5, 2.5], ["energetic", "friendly", "witty"]),
    b: persona([1.5, 5, 4.5, 5, 5.5], ["quiet", "reflective", "witty"]),
  },
  { pair: "same numbers, no words in common", a: balanced, b: persona([4, 5, 4.5, 4.5, 4], ["calm", "logical", "organized"]) },
  { pair: "one side has no arena yet", a: balanced, b: persona([5, 5.5, 4, 4, 4.5], []) },
  { pair: "opposites", a: loud, b: hushed },
];

const traitList = (p: ChemistryProfile) => TRAITS.map((t) => p.traits[t]).join(" / ");
const words = (p: ChemistryProfile) => (p.arena.length ? p.arena.join(", ") : "(none)");
const fixed = (n: number | null) => (n === null ? "n/a" : n.toFixed(3));

/** The markdown table, exactly as the doc should hold it. */
export function chemistryTable(): string {
  const rows = EXAMPLES.map(({ pair, a, b }) => {
    const { score, breakdown } = chemistry(a, b);
    return `| ${pair} | ${traitList(a)} | ${words(a)} | ${traitList(b)} | ${words(b)} | ${fixed(breakdown.similarity)} | ${fixed(breakdown.complementarity)} | ${fixed(breakdown.adjective_overlap)} | **${score}** |`;
  });
  return [
    "| pair | A: E / A / C / S / O | A: arena | B: E / A / C / S / O | B: arena | similarity | complementarity | adjective overlap | score |",
    "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

/** The table currently in `doc`, between the markers (undefined without them). */
export function tableInDoc(doc: string): string | undefined {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  return start === -1 || end < start ? undefined : doc.slice(start + START.length, end).trim();
}

export function withTable(doc: string, table: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start === -1 || end < start) throw new Error(`docs/chemistry.md has no ${START} … ${END} markers`);
  return `${doc.slice(0, start + START.length)}\n${table}\n${doc.slice(end)}`;
}

if (import.meta.main) {
  const doc = await readFile(DOC, "utf8");
  await writeFile(DOC, withTable(doc, chemistryTable()));
  console.log(chemistryTable());
}
