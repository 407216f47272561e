/** Pieces several pages share: how a failure is told, the adjective picker, trait names. */
import { ApiError, OfflineError, portraitSource, type RateLimit, type Trait } from "./api.ts";
import { h, uid } from "./dom.ts";

export const TRAIT_NAMES: Record<Trait, string> = {
  extraversion: "Extraversion",
  agreeableness: "Agreeableness",
  conscientiousness: "Conscientiousness",
  emotional_stability: "Emotional stability",
  openness: "Openness",
};

/** "in 42 seconds (at 14:05)": when to try again, from `Retry-After`. */
export function retryText(seconds: number): string {
  const at = new Date(Date.now() + seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const span = seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
  return `in ${span} (at ${at})`;
}

/** What a 429 says, by the limit the API names (`details.limit`). */
const LIMIT_TEXT: Record<RateLimit, string> = {
  answers_per_ip: "Too many answers from your network right now.",
  answers_per_survey: "This survey has had too many answers in a short time.",
  chat_messages_per_minute: "You are sending messages faster than your persona can keep up.",
  daily_token_budget: "You have used today's chat allowance.",
  chats_per_hour: "You have started many chats this hour.",
  persona_starts_per_day: "You have made your persona many times today.",
  sign_ins_per_ip: "Too many sign-in attempts from your network right now.",
  exports_per_day: "You have exported your data many times today.",
  deletions_per_day: "You have deleted many things today.",
};

/** One sentence a person can act on, for any failure. */
export function problem(error: unknown): string {
  if (error instanceof OfflineError) return "You seem to be offline. Nothing was lost: try again once you are connected.";
  if (error instanceof ApiError) {
    if (error.status === 429) {
      const what = (error.details.limit && LIMIT_TEXT[error.details.limit]) ?? "Too many requests for now.";
      return `${what} Please try again ${retryText(error.retryAfterSeconds ?? 60)}.`;
    }
    if (error.status === 503)
      return `The service is busy or briefly unavailable. Please try again ${retryText(error.retryAfterSeconds ?? 5)}.`;
    if (error.status >= 500) return "Something went wrong on our side. Please try again.";
    return error.message;
  }
  return "Something went wrong. Please reload the page.";
}

export const alertBox = (text: string) => h("div", { role: "alert", class: "alert" }, text);

/**
 * Checkboxes for the adjectives, at most `max` at a time: once `max` are picked the others
 * are disabled until one is unpicked, so the count is enforced as you pick.
 */
export function adjectivePicker(opts: { legend: string; options: string[]; min: number; max: number; picked?: string[] }) {
  const picked = new Set(opts.picked ?? []);
  const countId = uid("count");
  const count = h("p", { id: countId, class: "count", "aria-live": "polite" });
  const boxes = opts.options.map((word) =>
    h("input", { type: "checkbox", name: "adjective", value: word, checked: picked.has(word), "aria-describedby": countId }),
  );
  const refresh = () => {
    for (const box of boxes) box.disabled = !box.checked && picked.size >= opts.max;
    count.textContent = `${picked.size} of ${opts.min}–${opts.max} picked${picked.size >= opts.max ? " (the most you can pick)" : ""}`;
  };
  for (const box of boxes) {
    box.addEventListener("change", () => {
      if (box.checked) picked.add(box.value);
      else picked.delete(box.value);
      refresh();
    });
  }
  refresh();
  const fieldset = h(
    "fieldset",
    { class: "adjectives" },
    h("legend", {}, opts.legend),
    count,
    h(
      "div",
      { class: "chips" },
      boxes.map((box) => h("label", { class: "chip" }, box, ` ${box.value}`)),
    ),
  );
  return {
    fieldset,
    picked: () => opts.options.filter((word) => picked.has(word)),
    valid: () => picked.size >= opts.min && picked.size <= opts.max,
  };
}

/**
 * A persona's portrait as an `<img>`, public or private alike (see `portraitSource`): the
 * element is there at once, its picture once loaded; a portrait that cannot be loaded leaves
 * the image empty and marked, not a broken-image icon.
 */
export function portraitImage(url: string, attrs: { alt: string; class: string; width: number; height: number }): HTMLImageElement {
  const img = h("img", { ...attrs, "data-loading": "true" });
  portraitSource(url).then(
    ({ src, owned }) => {
      if (owned) img.addEventListener("load", () => URL.revokeObjectURL(src), { once: true });
      img.src = src;
      img.removeAttribute("data-loading");
    },
    () => {
      img.removeAttribute("data-loading");
      img.dataset.failed = "true";
    },
  );
  return img;
}
