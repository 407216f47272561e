/**
 * The whole view layer: `h` builds elements, and every string child becomes a Text node.
 * Nothing here (or anywhere in the client) parses HTML, so friend and model text can only
 * ever be shown as text; the CSP's Trusted Types would refuse an HTML sink anyway.
 *
 * @example h("p", { class: "note" }, "Hello ", h("strong", {}, name))
 */
export type Child = Node | string | number | false | null | undefined | Child[];
type Value = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attrs = Record<string, Value>;

function apply(el: Element, attrs: Attrs | null | undefined, children: Child[]): void {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children.flat(Infinity as 1) as Child[]) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs, children);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  apply(el, attrs, children);
  return el;
}

/** Replaces everything inside `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let ids = 0;
/** A fresh id for label/aria references. */
export const uid = (prefix: string) => `${prefix}-${++ids}`;

/** A polite status line for screen readers and eyes alike (`role=status`). */
export function statusLine(): HTMLParagraphElement & { say(text: string, tone?: "ok" | "error"): void } {
  const el = h("p", { role: "status", class: "status" }) as HTMLParagraphElement & { say(text: string, tone?: "ok" | "error"): void };
  el.say = (text, tone) => {
    el.textContent = text;
    el.className = `status${tone ? ` ${tone}` : ""}`;
  };
  return el;
}
