/**
 * The owner's data, all of it (issue 14; docs/privacy.md): take it with you as one JSON file,
 * close the survey or start a new round of it, delete the survey, the persona or the whole
 * account. Every deletion first says what goes and asks again; every result and refusal
 * (a daily limit, a survey in the wrong state) is told in words.
 */
import {
  closeSurvey,
  deleteAccount,
  deletePersona,
  deleteSurvey,
  exportAccount,
  getSurvey,
  myPersona,
  openSurvey,
  reopenSurvey,
  type Deletion,
} from "../api.ts";
import { h, replace, statusLine } from "../dom.ts";
import { go, type PageContext } from "../router.ts";
import { signOut } from "../session.ts";
import { alertBox, problem } from "../ui.ts";

type Status = ReturnType<typeof statusLine>;

const GONE: Record<Deletion, string> = {
  deleted: "deleted",
  deleting: "gone from every view; the rest is being deleted in the background",
};

export async function accountPage({ main }: PageContext): Promise<void> {
  document.title = "Your data · Re:MirAI";
  let survey: { surveyId: string; surveyUrl: string; open: boolean };
  let hasPersona: boolean;
  try {
    const current = await openSurvey();
    const [state, persona] = await Promise.all([getSurvey(current.surveyId), myPersona()]);
    survey = { ...current, open: state.open };
    hasPersona = persona.personaId !== null;
  } catch (error) {
    replace(main, h("h1", { tabindex: -1 }, "Your data"), alertBox(problem(error)));
    return;
  }
  replace(
    main,
    h("h1", { tabindex: -1 }, "Your data"),
    h("p", {}, "Everything Re:MirAI keeps about you: take it with you, or delete it."),
    exportSection(),
    surveySection(survey),
    personaSection(hasPersona),
    accountSection(),
  );
}

/**
 * A button that first shows what will be deleted and asks again; `run` goes only on "Yes".
 * The question takes focus, so a keyboard or screen-reader user meets it at once.
 */
function confirmed(label: string, what: string, run: () => Promise<void>): HTMLElement {
  const ask = h("button", { type: "button", class: "danger" }, label);
  const yes = h("button", { type: "button", class: "danger" }, `Yes, ${label.toLowerCase()}`);
  const no = h("button", { type: "button" }, "Cancel");
  const question = h(
    "div",
    { class: "confirm", role: "group", "aria-label": label, hidden: true, tabindex: -1 },
    h("p", {}, what),
    yes,
    " ",
    no,
  );
  ask.addEventListener("click", () => {
    ask.hidden = true;
    question.hidden = false;
    question.focus();
  });
  no.addEventListener("click", () => {
    question.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  yes.addEventListener("click", async () => {
    yes.disabled = no.disabled = true;
    try {
      await run();
    } finally {
      yes.disabled = no.disabled = false;
      question.hidden = true;
      ask.hidden = false;
    }
  });
  return h("div", {}, ask, question);
}

/** Runs `action`, telling its failure on `status` (its success is the action's own to tell). */
async function telling(status: Status, action: () => Promise<void>): Promise<void> {
  status.say("Working…");
  try {
    await action();
  } catch (error) {
    status.say(problem(error), "error");
  }
}

function exportSection(): HTMLElement {
  const status = statusLine();
  const button = h("button", { type: "button" }, "Download my data");
  button.addEventListener("click", async () => {
    button.disabled = true;
    await telling(status, async () => {
      const { file, name } = await exportAccount();
      const url = URL.createObjectURL(file);
      // A detached link: the router's click handler never sees it, the browser downloads it.
      h("a", { href: url, download: name }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      status.say(`Downloaded ${name}.`, "ok");
    });
    button.disabled = false;
  });
  return h(
    "section",
    { "aria-labelledby": "export-h" },
    h("h2", { id: "export-h" }, "Take your data with you"),
    h("p", {}, "One JSON file with your profile, surveys (your own picks and the totals you see), persona and chats."),
    button,
    status,
  );
}

function surveySection(initial: { surveyId: string; surveyUrl: string; open: boolean }): HTMLElement {
  const section = h("section", { "aria-labelledby": "survey-h" });
  const status = statusLine();
  const show = (survey: { surveyId: string; surveyUrl: string; open: boolean } | null) => {
    const controls: HTMLElement[] = [];
    if (survey?.open) {
      const close = h("button", { type: "button" }, "Close the survey");
      close.addEventListener("click", () =>
        telling(status, async () => {
          await closeSurvey(survey.surveyId);
          show({ ...survey, open: false });
          status.say("Closed: your link now tells friends it takes no more answers. Your totals stay.", "ok");
        }),
      );
      controls.push(close);
    } else if (survey) {
      const reopen = h("button", { type: "button" }, "Start a new round");
      reopen.addEventListener("click", () =>
        telling(status, async () => {
          const next = await reopenSurvey(survey.surveyId);
          show({ surveyId: next.surveyId, surveyUrl: next.surveyUrl, open: true });
          status.say(`A new round is open with a new link: ${next.surveyUrl}`, "ok");
        }),
      );
      controls.push(reopen);
    }
    if (survey)
      controls.push(
        confirmed(
          "Delete the survey",
          "This deletes the survey with every friend's answer, its totals and its link, which then shows “does not exist”. Your persona stays.",
          () =>
            telling(status, async () => {
              const result = await deleteSurvey(survey.surveyId);
              show(null);
              status.say(`The survey is ${GONE[result]}. Home makes a new survey with a new link.`, "ok");
            }),
        ),
      );
    replace(
      section,
      h("h2", { id: "survey-h" }, "Your survey"),
      survey
        ? h(
            "p",
            { "data-testid": "survey-state" },
            survey.open ? "Open: friends can answer at " : "Closed: it takes no more answers. Its link is ",
            h("code", {}, survey.surveyUrl),
          )
        : h("p", { "data-testid": "survey-state" }, "Deleted."),
      h("div", { class: "actions" }, controls),
      status,
    );
  };
  show(initial);
  return section;
}

function personaSection(hasPersona: boolean): HTMLElement {
  const status = statusLine();
  const title = h("h2", { id: "persona-data-h" }, "Your persona");
  const section: HTMLElement = h(
    "section",
    { "aria-labelledby": "persona-data-h" },
    title,
    hasPersona
      ? confirmed(
          "Delete my persona",
          "This deletes your persona's card, portrait and public page. Chats with it, yours and other people's, stay readable but take no new messages. Your survey and its answers stay, so you can make a new one.",
          () =>
            telling(status, async () => {
              const result = await deletePersona();
              replace(section, title, status);
              status.say(`Your persona is ${GONE[result]}. Chats with it are read-only now.`, "ok");
            }),
        )
      : h("p", {}, "You have no persona."),
    status,
  );
  return section;
}

function accountSection(): HTMLElement {
  const status = statusLine();
  return h(
    "section",
    { "aria-labelledby": "account-h" },
    h("h2", { id: "account-h" }, "Delete your account"),
    confirmed(
      "Delete my account",
      "This deletes everything: your profile, every survey with its answers, your persona and its portrait, and your chats. Other people's chats with your persona become read-only. You are signed out everywhere, and it cannot be undone.",
      () =>
        telling(status, async () => {
          const result = await deleteAccount();
          signOut();
          go(`/deleted${result === "deleting" ? "?background=1" : ""}`, { replace: true });
        }),
    ),
    status,
  );
}

/** Where a deleted account lands, signed out. */
export function deletedPage({ main }: PageContext): void {
  document.title = "Account deleted · Re:MirAI";
  const background = new URLSearchParams(location.search).has("background");
  replace(
    main,
    h("h1", { tabindex: -1, "data-testid": "deleted" }, "Your account is deleted"),
    h(
      "p",
      {},
      background ? "It is gone from every view; the rest of it is being deleted in the background. " : "Everything about you is deleted. ",
      "Any sign-in made before now no longer works.",
    ),
    h("p", {}, h("a", { href: "/sign-in" }, "Sign in to start again")),
  );
}
