/**
 * The owner's persona card: portrait, the card's fields, the public/private switch, the
 * Character Card V3 download (public cards only: the export is the public card's), and a
 * way into a chat. Model text is shown as text, links in it stay plain words.
 */
import { charaCardUrl, isPublic, myPersona, openChat, setVisibility, type Card, type Persona } from "../api.ts";
import { h, replace, statusLine } from "../dom.ts";
import { go, type PageContext } from "../router.ts";
import { alertBox, portraitImage, problem } from "../ui.ts";
import { STATUS_TEXT } from "./home.ts";

export async function personaPage({ main }: PageContext): Promise<void> {
  document.title = "Your persona · Re:MirAI";
  let persona: Persona;
  try {
    persona = await myPersona();
  } catch (error) {
    replace(main, h("h1", { tabindex: -1 }, "Your persona"), alertBox(problem(error)));
    return;
  }
  if (!persona.card || !persona.personaId) {
    replace(
      main,
      h("h1", { tabindex: -1 }, "Your persona"),
      h("p", {}, `No persona yet (status: ${STATUS_TEXT[persona.status]}). `, h("a", { href: "/" }, "Create it from your home page"), "."),
    );
    return;
  }
  const card = persona.card;
  document.title = `${card.name} · Re:MirAI`;
  replace(
    main,
    h("h1", { tabindex: -1 }, card.name),
    h("p", { class: "lead" }, card.tagline),
    h(
      "div",
      { class: "card-layout" },
      persona.portraitUrl &&
        portraitImage(persona.portraitUrl, {
          alt: `Portrait of ${card.name}: ${card.visualDescription}`,
          class: "portrait",
          width: 320,
          height: 320,
        }),
      cardFields(card),
    ),
    persona.generatedBy &&
      h("p", { class: "note" }, `Written by ${persona.generatedBy.writer}; portrait by ${persona.generatedBy.illustrator}.`),
    sharing(persona.personaId),
    h("p", {}, h("button", { type: "button", class: "primary", onclick: () => void chat() }, `Chat with ${card.name}`)),
  );

  async function chat() {
    try {
      go(`/chats/${(await openChat()).chatId}`);
    } catch (error) {
      main.append(alertBox(problem(error)));
    }
  }
}

export function cardFields(card: Card): HTMLElement {
  const row = (term: string, value: string) => [h("dt", {}, term), h("dd", {}, value)];
  return h(
    "dl",
    { class: "card-fields" },
    row("Personality", card.personality),
    row("Speaking style", card.speakingStyle),
    row("Greeting", card.greeting),
    card.interests.length > 0 && row("Interests", card.interests.join(", ")),
    row("Looks", card.visualDescription),
  );
}

/**
 * The visibility switch. The API is only asked, never assumed: the switch shows what it
 * answered. The card's public page and the export exist only while it is public.
 */
function sharing(personaId: string): HTMLElement {
  const status = statusLine();
  const links = h("p", { class: "share-links" });
  const toggle = h(
    "button",
    { type: "button", role: "switch", "aria-checked": "false", class: "switch", "aria-describedby": "visibility-note" },
    "Public card",
  );
  const show = (isPublic: boolean) => {
    toggle.setAttribute("aria-checked", String(isPublic));
    replace(
      links,
      isPublic
        ? [
            h("a", { href: `/p/${personaId}` }, "Open the public card"),
            " · ",
            h("a", { href: charaCardUrl(personaId), download: "" }, "Download as Character Card V3 (JSON)"),
          ]
        : "Private: only you can see this persona. Make it public to share its card or export it.",
    );
  };
  toggle.addEventListener("click", async () => {
    const wanted = toggle.getAttribute("aria-checked") !== "true";
    toggle.disabled = true;
    try {
      const { isPublic } = await setVisibility(wanted);
      show(isPublic);
      status.say(isPublic ? "Your card is public now." : "Your card is private now.", "ok");
    } catch (error) {
      status.say(problem(error), "error");
    } finally {
      toggle.disabled = false;
    }
  });
  show(false);
  void isPublic(personaId).then(show, () => {});
  return h(
    "section",
    { "aria-labelledby": "sharing-h" },
    h("h2", { id: "sharing-h" }, "Sharing"),
    toggle,
    h(
      "p",
      { id: "visibility-note", class: "note" },
      "A public card shows the name, tagline, portrait and trait scores to anyone with its link.",
    ),
    links,
    status,
  );
}
