/**
 * Every page of the web client, each in the state a person meets it: prepared through the
 * API, then opened in the browser and handed to `visit` (the accessibility scan in
 * test/web-pages.test.ts, `npm run screenshots`).
 */
import type { Browser, Page } from "puppeteer-core";
import { as, ownerWithAnswers, ownerWithReadyPersona } from "./saga.ts";
import { fillSurvey, signInLocally, submitSurvey } from "./web-pages.ts";
import type { WebStack } from "./web-stack.ts";

export type Visit = (name: string, page: Page) => Promise<void>;

const api = (web: WebStack, path: string, uid: string, init: RequestInit = {}) =>
  fetch(`${web.url}/api${path}`, { ...init, headers: as(uid) }).then(async (res) => {
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.text().then((body) => (body && res.headers.get("content-type")?.includes("json") ? JSON.parse(body) : body));
  });

async function newPage(browser: Browser): Promise<Page> {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width: 1280, height: 900 });
  return page;
}

export async function tour(web: WebStack, browser: Browser, visit: Visit): Promise<void> {
  // Prepare: an owner whose persona is ready and public, with their own words and a chat;
  // another public persona; a survey waiting for answers.
  const owner = await ownerWithReadyPersona(web.stack.target);
  const { surveyId } = await api(web, "/v1/surveys", owner.uid, { method: "POST" }).then((s) => ({ surveyId: s.survey_id as string }));
  await api(web, `/v1/surveys/${surveyId}/self`, owner.uid, {
    method: "PUT",
    body: JSON.stringify({ answers: { adjectives: ["kind", "calm", "shy", "logical", "modest"] } }),
  });
  await api(web, "/v1/personas/me/visibility", owner.uid, { method: "PUT", body: '{"public":true}' });
  const chat = await api(web, "/v1/chats", owner.uid, { method: "POST", body: "{}" });
  await api(web, `/v1/chats/${chat.chat_id}/messages`, owner.uid, { method: "POST", body: '{"text":"Hi! What do my friends see in me?"}' });
  const other = await ownerWithReadyPersona(web.stack.target);
  await api(web, "/v1/personas/me/visibility", other.uid, { method: "PUT", body: '{"public":true}' });
  const waiting = await ownerWithAnswers(web.stack.target, 0);
  const waitingLink = `${web.url}/s/${waiting.surveyId}`;

  const anonymous = await newPage(browser);
  await anonymous.goto(`${web.url}/sign-in`);
  await anonymous.waitForSelector("form.local");
  await visit("sign-in", anonymous);

  await anonymous.goto(waitingLink);
  await anonymous.waitForSelector("form fieldset.adjectives");
  await visit("survey", anonymous);
  await fillSurvey(anonymous, waitingLink);
  await submitSurvey(anonymous);
  await visit("survey-thanks", anonymous);

  await anonymous.goto(`${web.url}/s/AAAAAAAAAAAAAAAAAAAAAA`);
  await anonymous.waitForSelector("h1");
  await visit("survey-not-found", anonymous);

  const ownerPage = await newPage(browser);
  await signInLocally(ownerPage, web.url, owner.uid, "Mira Example");
  await ownerPage.waitForSelector("svg.johari");
  await visit("home", ownerPage);

  await ownerPage.goto(`${web.url}/persona`);
  await ownerPage.waitForSelector("button[role=switch][aria-checked=true]");
  await visit("persona", ownerPage);

  await ownerPage.goto(`${web.url}/chats`);
  await ownerPage.waitForSelector(".chat-list a");
  await visit("chats", ownerPage);

  await ownerPage.goto(`${web.url}/chats/${chat.chat_id}`);
  await ownerPage.waitForSelector(".message[data-role=persona]");
  await visit("chat", ownerPage);

  await ownerPage.goto(`${web.url}/account`);
  await ownerPage.waitForSelector("[data-testid=survey-state]");
  await ownerPage.locator("button::-p-text(Delete my account)").click();
  await ownerPage.waitForSelector(".confirm:not([hidden])");
  await visit("account", ownerPage);

  await ownerPage.goto(`${web.url}/p/${other.personaId}`);
  await ownerPage.waitForSelector("img.portrait");
  await ownerPage.locator("::-p-text(Our chemistry)").click();
  await ownerPage.waitForSelector("[data-testid=chemistry-score]");
  await visit("public-card-chemistry", ownerPage);

  await anonymous.goto(`${web.url}/deleted`);
  await anonymous.waitForSelector("[data-testid=deleted]");
  await visit("account-deleted", anonymous);

  await anonymous.goto(`${web.url}/nowhere/at/all`);
  await anonymous.waitForSelector("[data-testid=not-found]");
  await visit("not-found", anonymous);

  // The saga's steps as the home page shows them live.
  const fresh = await ownerWithAnswers(web.stack.target, 3);
  const livePage = await newPage(browser);
  await signInLocally(livePage, web.url, fresh.uid, "Sam Example");
  await livePage.locator("::-p-text(Create my persona)").click();
  await livePage.waitForSelector(".steps li[data-status=ready]");
  await visit("home-live-status", livePage);
}
