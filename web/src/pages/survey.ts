/**
 * A friend's survey (`/s/:id`), no sign-in: whose survey it is, 5–6 adjectives, ten 1–7
 * ratings, three optional texts with live counts, then thanks. Every refusal (already
 * answered from this device, too many answers, closed or unknown survey, offline) is told in
 * words, and the answers stay in the form. The answer's one-time receipt is kept on this
 * device, so the friend can withdraw the answer later from the same page.
 */
import { answerSurvey, getSurvey, isDuplicateAnswer, isNotFound, OfflineError, withdrawAnswer, type Survey } from "../api.ts";
import { h, replace, statusLine, uid } from "../dom.ts";
import type { PageContext } from "../router.ts";
import { adjectivePicker, alertBox, problem } from "../ui.ts";

const DEVICE_KEY = "remirai.device";

/** This browser's opaque id, kept across visits so one device answers once. Not a secret, and not the session. */
function deviceFingerprint(): string {
  let value = localStorage.getItem(DEVICE_KEY);
  if (!value) localStorage.setItem(DEVICE_KEY, (value = crypto.randomUUID()));
  return value;
}

/**
 * The receipt of this device's answer to one survey: shown by the API once, never again, and
 * the only way to withdraw the answer. In `localStorage` (it must outlive the tab), per survey.
 */
const receipts = {
  key: (surveyId: string) => `remirai.receipt.${surveyId}`,
  get: (surveyId: string) => localStorage.getItem(receipts.key(surveyId)),
  set: (surveyId: string, receipt: string) => localStorage.setItem(receipts.key(surveyId), receipt),
  forget: (surveyId: string) => localStorage.removeItem(receipts.key(surveyId)),
};

export async function surveyPage({ main, params }: PageContext): Promise<void> {
  let survey: Survey;
  try {
    survey = await getSurvey(params.id!);
  } catch (error) {
    const missing = isNotFound(error);
    document.title = missing ? "Survey not found · Re:MirAI" : "Survey · Re:MirAI";
    replace(
      main,
      h("h1", { tabindex: -1 }, missing ? "This survey does not exist" : "The survey could not be loaded"),
      h("p", {}, missing ? "Check the link you were sent: it may be incomplete, or the survey was deleted." : problem(error)),
    );
    return;
  }
  const who = survey.ownerName ?? "your friend";
  document.title = `Describe ${who} · Re:MirAI`;
  if (!survey.open) {
    replace(
      main,
      h("h1", { tabindex: -1 }, `${who}'s survey is closed`),
      h("p", {}, "It no longer takes answers. Thank you for stopping by."),
      withdrawal(survey.surveyId, who),
    );
    return;
  }
  // This device answered already and kept the receipt: the answer, not the form.
  if (receipts.get(survey.surveyId) !== null)
    return thanks(main, "You have answered", `Your answer to ${who}'s survey is in. Thank you!`, survey.surveyId, who);
  replace(main, surveyForm(survey, who, main));
}

function surveyForm(survey: Survey, who: string, main: HTMLElement): HTMLElement {
  const q = survey.questions;
  const adjectives = adjectivePicker({
    legend: `Pick ${q.adjectives.min} or ${q.adjectives.max} words that describe ${who}`,
    ...q.adjectives,
  });
  const ratings = q.ratings.items.map((item) => {
    const name = `rating-${item.id}`;
    const radios = Array.from({ length: q.ratings.max - q.ratings.min + 1 }, (_, i) => q.ratings.min + i).map((n) =>
      h("label", { class: "dot" }, h("input", { type: "radio", name, value: n }), h("span", {}, String(n))),
    );
    const fieldset = h(
      "fieldset",
      { class: "rating" },
      h("legend", {}, item.text),
      h(
        "div",
        { class: "scale" },
        h("span", { class: "end", "aria-hidden": "true" }, "1 · disagree"),
        radios,
        h("span", { class: "end", "aria-hidden": "true" }, "7 · agree"),
      ),
    );
    const value = () => Number((fieldset.querySelector("input:checked") as HTMLInputElement | null)?.value ?? 0);
    return { item, fieldset, value };
  });
  const texts = q.texts.map((t) => {
    const fieldId = uid("text");
    const countId = uid("chars");
    const count = h("span", { id: countId, class: "count" }, `0 of ${t.maxLength} characters`);
    const area = h("textarea", { id: fieldId, name: t.id, maxlength: t.maxLength, rows: 3, "aria-describedby": countId });
    area.addEventListener("input", () => (count.textContent = `${area.value.length} of ${t.maxLength} characters`));
    return { t, area, block: h("div", { class: "field" }, h("label", { for: fieldId }, `${t.prompt} (optional)`), area, count) };
  });
  const errors = h("div", { class: "errors" });
  const submit = h("button", { type: "submit", class: "primary" }, "Send my answer");

  const form = h(
    "form",
    { novalidate: true },
    h("h1", { tabindex: -1 }, `Describe ${who}`),
    h("p", { class: "lead" }, `${who} will never see who answered or your own answer: only totals, once at least 3 friends have answered.`),
    adjectives.fieldset,
    h("h2", {}, `${q.ratings.stem} (1 = ${q.ratings.low.toLowerCase()}, 7 = ${q.ratings.high.toLowerCase()})`),
    ratings.map((r) => r.fieldset),
    h("h2", {}, "In your own words"),
    texts.map((t) => t.block),
    errors,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const missing = [
      ...(adjectives.valid() ? [] : [`Pick ${q.adjectives.min} or ${q.adjectives.max} words (you picked ${adjectives.picked().length}).`]),
      ...ratings.filter((r) => r.value() === 0).map((r) => `Rate “${r.item.text}”.`),
    ];
    if (missing.length > 0) {
      replace(
        errors,
        h(
          "div",
          { role: "alert", class: "alert", tabindex: -1 },
          h("p", {}, "Almost there:"),
          h(
            "ul",
            {},
            missing.map((m) => h("li", {}, m)),
          ),
        ),
      );
      (errors.firstElementChild as HTMLElement).focus();
      return;
    }
    submit.disabled = true;
    replace(errors);
    try {
      const { receipt } = await answerSurvey(survey.surveyId, deviceFingerprint(), {
        adjectives: adjectives.picked(),
        ratings: Object.fromEntries(ratings.map((r) => [r.item.id, r.value()])),
        texts: Object.fromEntries(texts.filter((t) => t.area.value.trim() !== "").map((t) => [t.t.id, t.area.value])),
      });
      receipts.set(survey.surveyId, receipt);
      thanks(main, "Thank you!", `Your answer is in. ${who} will see it only as part of the totals.`, survey.surveyId, who);
    } catch (error) {
      submit.disabled = false;
      if (isDuplicateAnswer(error))
        return thanks(
          main,
          "You have already answered",
          `This device already sent an answer to ${who}'s survey; one per friend. Thank you!`,
          survey.surveyId,
          who,
        );
      const text = isNotFound(error)
        ? "This survey no longer takes answers."
        : error instanceof OfflineError
          ? "You seem to be offline. Your answers are still here: send them again once you are connected."
          : problem(error);
      replace(errors, alertBox(text));
    }
  });
  return form;
}

function thanks(main: HTMLElement, title: string, text: string, surveyId: string, who: string): void {
  document.title = `${title} · Re:MirAI`;
  replace(
    main,
    h("h1", { tabindex: -1 }, title),
    h("p", {}, text),
    withdrawal(surveyId, who),
    h("p", {}, "Curious what your friends see in you? ", h("a", { href: "/" }, "Make your own survey")),
  );
  (main.querySelector("h1") as HTMLElement).focus();
}

/** "Withdraw my answer", when this device holds the answer's receipt; nothing otherwise. */
function withdrawal(surveyId: string, who: string): HTMLElement | null {
  const receipt = receipts.get(surveyId);
  if (receipt === null) return null;
  const status = statusLine();
  const button = h("button", { type: "button" }, "Withdraw my answer");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await withdrawAnswer(surveyId, receipt);
      receipts.forget(surveyId);
      button.remove();
      status.say(`Your answer is withdrawn: its content is deleted, and ${who}'s totals drop it with their next update.`, "ok");
    } catch (error) {
      if (isNotFound(error)) {
        // Spent (withdrawn already, perhaps from another tab) or the survey was deleted: the receipt is of no more use.
        receipts.forget(surveyId);
        button.remove();
        return status.say("That answer is gone already: it was withdrawn, or the survey was deleted.", "error");
      }
      button.disabled = false;
      status.say(problem(error), "error");
    }
  });
  return h(
    "section",
    { class: "withdraw", "aria-label": "Your answer" },
    h("p", {}, "Changed your mind? This device kept a receipt for your answer, so you can take it back."),
    button,
    status,
  );
}
