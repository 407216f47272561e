/**
 * A public persona's card (`/p/:id`), for anyone with the link; a private, unknown or
 * unready one is the not-found page. Signed in, you can see your persona's chemistry with
 * it, or start a chat with it.
 */
import { chemistryWith, isNotFound, isPersonaNotReady, openChat, publicCard, type Chemistry, type PublicCard, type Trait } from "../api.ts";
import { traitBars } from "../charts.ts";
import { h, replace, statusLine } from "../dom.ts";
import { go, type PageContext } from "../router.ts";
import { session } from "../session.ts";
import { alertBox, problem } from "../ui.ts";
import { notFoundPage } from "./not-found.ts";

export async function publicCardPage(ctx: PageContext): Promise<void> {
  const { main, params } = ctx;
  let card: PublicCard;
  try {
    card = await publicCard(params.id!);
  } catch (error) {
    if (isNotFound(error)) return notFoundPage(ctx, "This persona is private, or does not exist.");
    replace(main, h("h1", { tabindex: -1 }, "Persona"), alertBox(problem(error)));
    return;
  }
  document.title = `${card.name} · Re:MirAI`;
  const traits = Object.fromEntries(Object.entries(card.traits).map(([t, mean]) => [t, { mean }])) as Record<Trait, { mean: number }>;
  replace(
    main,
    h("h1", { tabindex: -1 }, card.name),
    h("p", { class: "lead" }, card.tagline),
    h(
      "div",
      { class: "card-layout" },
      card.portraitUrl && h("img", { src: card.portraitUrl, alt: `Portrait of ${card.name}`, class: "portrait", width: 320, height: 320 }),
      h(
        "div",
        {},
        traitBars(traits, `${card.name}'s traits`),
        card.arena.length > 0 && h("p", {}, `Both they and their friends say: ${card.arena.join(", ")}.`),
        h("p", { class: "note" }, `From the answers of ${card.answers} friends.`),
      ),
    ),
    session() ? together(card) : h("p", {}, h("a", { href: "/sign-in" }, "Sign in"), " to see your chemistry with this persona."),
  );
}

function together(card: PublicCard): HTMLElement {
  const result = h("div", { "aria-live": "polite" });
  const status = statusLine();
  const check = async () => {
    status.say("Working it out…");
    try {
      replace(result, chemistryView(await chemistryWith(card.personaId)));
      status.say("");
    } catch (error) {
      status.say(chemistryProblem(error), "error");
    }
  };
  const chat = async () => {
    try {
      go(`/chats/${(await openChat(card.personaId)).chatId}`);
    } catch (error) {
      status.say(problem(error), "error");
    }
  };
  return h(
    "section",
    { "aria-labelledby": "chem-h" },
    h("h2", { id: "chem-h" }, "You and this persona"),
    h(
      "p",
      { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: () => void check() }, "Our chemistry"),
      h("button", { type: "button", onclick: () => void chat() }, `Chat with ${card.name}`),
    ),
    status,
    result,
  );
}

/** 422: the caller's persona is not ready; 404: they have none, or this one stopped being public. */
function chemistryProblem(error: unknown): string {
  if (isPersonaNotReady(error)) return "Your own persona must be ready first.";
  if (isNotFound(error)) return "Make your own persona first (or this one is no longer public).";
  return problem(error);
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

function chemistryView(c: Chemistry): HTMLElement {
  return h(
    "div",
    { class: "chemistry" },
    h(
      "p",
      { class: "score" },
      h("strong", { "data-testid": "chemistry-score" }, String(c.score)),
      ` / 100 · ${c.names[0]} and ${c.names[1]}`,
    ),
    h(
      "ul",
      {},
      h("li", {}, `Similar traits: ${pct(c.similarity)}`),
      h("li", {}, `Balance (talker and listener, explorer and anchor): ${pct(c.complementarity)}`),
      h(
        "li",
        {},
        c.adjectiveOverlap === null
          ? "Shared words: not counted (a persona has none)"
          : `Shared words: ${pct(c.adjectiveOverlap)}${c.sharedAdjectives.length ? ` (${c.sharedAdjectives.join(", ")})` : ""}`,
      ),
    ),
    c.blurb && h("p", { class: "blurb" }, c.blurb.text, c.blurb.offline ? h("span", { class: "note" }, " (written offline)") : null),
  );
}
