/**
 * The owner's home: the survey link to share, answers so far and needed, the summary once
 * there are enough (trait bars, the Johari window), and the persona — created or regenerated
 * here, its saga's steps shown live as the status feed reports them.
 */
import {
  followPersonaStatus,
  isSagaRunning,
  getSurvey,
  myPersona,
  openSurvey,
  saveOwnAdjectives,
  startPersona,
  surveySummary,
  type Persona,
  type PersonaStatus,
  type StatusUpdate,
  type Summary,
} from "../api.ts";
import { johariWindow, traitBars } from "../charts.ts";
import { h, replace, statusLine, uid } from "../dom.ts";
import type { PageContext } from "../router.ts";
import { adjectivePicker, alertBox, portraitImage, problem } from "../ui.ts";

export const STATUS_TEXT: Record<PersonaStatus, string> = {
  pending: "Not started yet",
  synthesizing: "Writing the persona from your friends' answers",
  generating_image: "Drawing the portrait",
  ready: "Ready",
  failed: "Failed",
};

export async function homePage({ main, signal }: PageContext): Promise<void> {
  document.title = "Home · Re:MirAI";
  let survey: { surveyId: string; surveyUrl: string };
  let summary: Summary;
  let persona: Persona;
  let options: string[];
  try {
    survey = await openSurvey();
    [summary, persona, options] = await Promise.all([
      surveySummary(survey.surveyId),
      myPersona(),
      getSurvey(survey.surveyId).then((s) => s.questions.adjectives.options),
    ]);
  } catch (error) {
    replace(main, h("h1", { tabindex: -1 }, "Home"), alertBox(problem(error)));
    return;
  }
  const summaryHolder = h("div");
  const showSummary = (s: Summary) => replace(summaryHolder, summarySection(s, survey.surveyId, options, refresh));
  const refresh = async () => {
    showSummary(await surveySummary(survey.surveyId));
    summaryHolder.querySelector("h2")?.focus();
  };
  showSummary(summary);
  replace(
    main,
    h("h1", { tabindex: -1 }, "Your mirror"),
    linkSection(survey.surveyUrl),
    summaryHolder,
    personaSection(persona, summary, signal),
  );
}

function linkSection(url: string): HTMLElement {
  const fieldId = uid("link");
  const status = statusLine();
  const field = h("input", { id: fieldId, readonly: true, value: url, class: "link-field" });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      status.say("Link copied.", "ok");
    } catch {
      field.select();
      status.say("Select the link and copy it yourself (Ctrl+C).");
    }
  };
  return h(
    "section",
    { "aria-labelledby": "share-h" },
    h("h2", { id: "share-h" }, "1. Share your survey"),
    h("p", {}, "Send this link to friends. Their answers are anonymous; you see only totals."),
    h("label", { for: fieldId }, "Your survey link"),
    h("div", { class: "copy-row" }, field, h("button", { type: "button", onclick: () => void copy() }, "Copy link")),
    status,
  );
}

function summarySection(summary: Summary, surveyId: string, options: string[], refresh: () => Promise<void>): HTMLElement {
  const a = summary.aggregates;
  const counts = h(
    "p",
    { class: "counts", "data-testid": "answer-counts" },
    `${summary.answers} ${summary.answers === 1 ? "answer" : "answers"} so far`,
    summary.answersNeeded > 0 ? ` · ${summary.answersNeeded} more needed before anything is shown` : "",
  );
  return h(
    "section",
    { "aria-labelledby": "summary-h" },
    h("h2", { id: "summary-h", tabindex: -1 }, "2. What your friends see"),
    counts,
    a
      ? [
          h("h3", {}, "Traits (1–7, as your friends rated you)"),
          traitBars(a.traits, "Trait scores"),
          h("h3", {}, "Words they picked most"),
          h(
            "ul",
            { class: "words" },
            a.adjectives.slice(0, 10).map((w) => h("li", {}, `${w.adjective} · ${w.count}`)),
          ),
          h("h3", {}, "Johari window"),
          a.johari ? johariWindow(a.johari) : h("p", {}, "Pick your own words below to see your Johari window."),
        ]
      : h("p", {}, "Summaries appear once 3 friends have answered, so no single answer can be picked out."),
    selfForm(surveyId, options, a?.johari ? [...a.johari.arena, ...a.johari.facade] : [], refresh),
  );
}

function selfForm(surveyId: string, options: string[], picked: string[], refresh: () => Promise<void>): HTMLElement {
  const picker = adjectivePicker({ legend: "Pick 5 or 6 words that describe you", options, min: 5, max: 6, picked });
  const status = statusLine();
  const form = h(
    "form",
    { class: "self" },
    h(
      "details",
      {},
      h("summary", {}, "Describe yourself (for the Johari window)"),
      picker.fieldset,
      h("button", { type: "submit" }, "Save my words"),
      status,
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!picker.valid()) return status.say("Pick 5 or 6 words.", "error");
    try {
      await saveOwnAdjectives(surveyId, picker.picked());
      await refresh();
    } catch (error) {
      status.say(problem(error), "error");
    }
  });
  return form;
}

function personaSection(persona: Persona, summary: Summary, signal: AbortSignal): HTMLElement {
  const steps = h("ol", { class: "steps", "aria-live": "polite", "aria-label": "Progress" });
  const state = h("p", { class: "state", "data-status": persona.status }, stateText(persona));
  const status = statusLine();
  const ready = h("div", {}, readyLink(persona));
  const button = h(
    "button",
    { type: "button", class: "primary", disabled: summary.answersNeeded > 0 },
    persona.card ? "Regenerate my persona" : "Create my persona",
  );
  let following: AbortController | undefined;

  const follow = () => {
    following?.abort();
    following = new AbortController();
    const stop = AbortSignal.any([signal, following.signal]);
    void followPersonaStatus((update: StatusUpdate) => {
      steps.append(
        h(
          "li",
          { "data-status": update.status },
          `${STATUS_TEXT[update.status]}${update.reason ? `: ${update.reason}` : ""}`,
          h("time", { datetime: update.at }, ` · ${new Date(update.at).toLocaleTimeString()}`),
        ),
      );
      state.dataset.status = update.status;
      state.textContent = stateText({ ...persona, status: update.status, reason: update.reason });
      button.disabled = update.status === "synthesizing" || update.status === "generating_image";
      if (update.status === "ready") {
        button.textContent = "Regenerate my persona";
        void myPersona().then(
          (p) => replace(ready, readyLink(p)),
          () => {},
        );
      }
    }, stop).catch((error: unknown) => status.say(problem(error), "error"));
  };

  button.addEventListener("click", async () => {
    button.disabled = true;
    replace(steps);
    try {
      await startPersona();
      status.say("");
    } catch (error) {
      if (!isSagaRunning(error)) {
        button.disabled = false;
        return status.say(problem(error), "error");
      }
      status.say("Your persona is already being made; following it.");
    }
    follow();
  });
  if (persona.status === "synthesizing" || persona.status === "generating_image") {
    button.disabled = true;
    follow();
  }
  return h(
    "section",
    { "aria-labelledby": "persona-h" },
    h("h2", { id: "persona-h" }, "3. Your persona"),
    state,
    summary.answersNeeded > 0 &&
      h("p", {}, `It can be made once ${summary.answersNeeded} more ${summary.answersNeeded === 1 ? "friend answers" : "friends answer"}.`),
    button,
    steps,
    status,
    ready,
  );
}

function stateText(p: Pick<Persona, "status" | "reason">): string {
  return `Status: ${STATUS_TEXT[p.status]}${p.status === "failed" && p.reason ? ` (${p.reason})` : ""}`;
}

function readyLink(p: Persona): HTMLElement | null {
  if (!p.card) return null;
  return h(
    "p",
    { class: "ready" },
    p.portraitUrl && portraitImage(p.portraitUrl, { alt: "", width: 64, height: 64, class: "thumb" }),
    h("a", { href: "/persona" }, `Meet ${p.card.name}`),
    " · ",
    h("a", { href: "/chats" }, "Chat"),
  );
}
