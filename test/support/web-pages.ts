/** What a person does in the web client, as puppeteer steps the browser tests share. */
import type { Page } from "puppeteer-core";
import axe, { type AxeResults } from "axe-core";

/** Signs in through the local-mode "continue as" form and waits for the home page. */
export async function signInLocally(page: Page, origin: string, uid: string, name: string): Promise<void> {
  await page.goto(`${origin}/sign-in`);
  await page.waitForSelector("form.local");
  await page.$eval("input[name=uid]", (el) => ((el as any).value = ""));
  await page.type("input[name=uid]", uid);
  await page.$eval("input[name=name]", (el) => ((el as any).value = ""));
  await page.type("input[name=name]", name);
  await page.click("form.local button[type=submit]");
  await page.waitForSelector(".link-field");
}

export const FRIEND_WORDS = ["kind", "witty", "calm", "brave", "wise"];

/** Fills the survey at `link` (5 words, every rating, one text) without sending it. */
export async function fillSurvey(page: Page, link: string, words = FRIEND_WORDS): Promise<void> {
  await page.goto(link);
  await page.waitForSelector("form fieldset.adjectives");
  for (const word of words) await page.click(`input[name=adjective][value="${word}"]`);
  const groups = await page.$$eval("fieldset.rating", (sets) => sets.map((s) => s.querySelector("input")!.name));
  for (const [i, name] of groups.entries()) await page.click(`input[name="${name}"][value="${(i % 7) + 1}"]`);
  await page.type("textarea[name=strength]", "Always there when it counts.");
}

/** Sends the form and waits for the page's new title. */
export async function submitSurvey(page: Page): Promise<string> {
  await page.click("form button[type=submit]");
  await page.waitForFunction(`!document.querySelector("form button[type=submit]") || document.querySelector(".alert")`);
  return page.$eval("h1", (h) => h.textContent ?? "");
}

export const h1 = (page: Page) => page.$eval("h1", (h) => h.textContent ?? "");

export interface Violation {
  id: string;
  impact: string | null | undefined;
  help: string;
  nodes: number;
}

/** axe-core (from npm) run in the page: its serious and critical violations. */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  await page.evaluate(axe.source);
  const results = (await page.evaluate("axe.run(document)")) as AxeResults;
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
}

/** True when the page is wider than its viewport (a sideways scroll on a phone). */
export const overflowsSideways = (page: Page) =>
  page.evaluate("document.documentElement.scrollWidth > window.innerWidth") as Promise<boolean>;

/** Waits until the last reply on the page shows exactly `text`. */
export const replyShows = (page: Page, text: string) =>
  page.waitForFunction(`document.querySelector(".message[data-role=persona]:last-child .text")?.textContent === ${JSON.stringify(text)}`);
