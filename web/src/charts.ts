/** The summary's pictures, drawn in SVG: trait bars and the Johari window. Each has a text alternative. */
import type { Summary, Trait } from "./api.ts";
import { h, s, uid } from "./dom.ts";
import { TRAIT_NAMES } from "./ui.ts";

const SCALE_MAX = 7;

/** One bar per trait on the 1–7 scale, with a whisker for how much friends agree (±spread). */
export function traitBars(traits: Record<Trait, { mean: number; spread?: number }>, label: string): SVGSVGElement {
  const rows = Object.entries(traits) as [Trait, { mean: number; spread?: number }][];
  const titleId = uid("title");
  const [left, width, rowHeight] = [150, 260, 34];
  const x = (v: number) => left + (Math.max(1, Math.min(SCALE_MAX, v)) / SCALE_MAX) * width;
  const description = rows.map(([t, v]) => `${TRAIT_NAMES[t]} ${v.mean.toFixed(1)} of 7`).join(", ");
  return s(
    "svg",
    { viewBox: `0 0 ${left + width + 50} ${rows.length * rowHeight + 8}`, role: "img", "aria-labelledby": titleId, class: "chart" },
    s("title", { id: titleId }, `${label}: ${description}`),
    rows.map(([trait, v], i) => {
      const y = i * rowHeight + 6;
      return s(
        "g",
        {},
        s("text", { x: 0, y: y + 16, class: "label" }, TRAIT_NAMES[trait]),
        s("rect", { x: left, y, width, height: 22, rx: 4, class: "track" }),
        s("rect", { x: left, y, width: x(v.mean) - left, height: 22, rx: 4, class: "bar" }),
        v.spread !== undefined &&
          s("line", { x1: x(v.mean - v.spread), x2: x(v.mean + v.spread), y1: y + 11, y2: y + 11, class: "whisker" }),
        s("text", { x: left + width + 8, y: y + 16, class: "value" }, v.mean.toFixed(1)),
      );
    }),
  );
}

const QUADRANTS = [
  ["arena", "Open", "you and your friends"],
  ["blindSpot", "Blind spot", "your friends, not you"],
  ["facade", "Hidden", "you, not your friends"],
  ["unknown", "Unknown", "nobody"],
] as const;

/** Words per line and lines per quadrant that fit; the rest is counted ("+ 38 more"). */
function wrap(words: string[], perLine = 3, lines = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length && out.length < lines; i += perLine) out.push(words.slice(i, i + perLine).join(", "));
  const shown = Math.min(words.length, perLine * lines);
  if (words.length > shown) out[out.length - 1] += ` … + ${words.length - shown} more`;
  return out;
}

/** The Johari window as four quadrants: who sees each word. */
export function johariWindow(j: NonNullable<NonNullable<Summary["aggregates"]>["johari"]>): HTMLElement {
  const titleId = uid("title");
  const [w, hgt] = [240, 150];
  const description = QUADRANTS.map(([key, name, who]) => `${name} (seen by ${who}): ${j[key].join(", ") || "none"}`).join(". ");
  const svg = s(
    "svg",
    { viewBox: `0 0 ${2 * w + 6} ${2 * hgt + 6}`, role: "img", "aria-labelledby": titleId, class: "chart johari" },
    s("title", { id: titleId }, `Johari window. ${description}.`),
    QUADRANTS.map(([key, name, who], i) => {
      const [x, y] = [(i % 2) * (w + 6), Math.floor(i / 2) * (hgt + 6)];
      return s(
        "g",
        {},
        s("rect", { x, y, width: w, height: hgt, rx: 6, class: `quadrant q-${key}` }),
        s("text", { x: x + 10, y: y + 22, class: "heading" }, `${name} · ${j[key].length}`),
        s("text", { x: x + 10, y: y + 40, class: "who" }, `seen by ${who}`),
        wrap(j[key]).map((line, n) => s("text", { x: x + 10, y: y + 64 + n * 20, class: "words" }, line)),
      );
    }),
  );
  return h(
    "figure",
    { class: "figure" },
    svg,
    h("figcaption", {}, "Johari window: the words you picked for yourself against the words your friends picked."),
  );
}
