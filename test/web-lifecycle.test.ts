/**
 * The data's life in the web client (issue 14), in a real (headless) Chromium: the owner
 * downloads their data, closes their survey and opens a new round, deletes the survey, the
 * persona and the account from "Your data"; a chat whose persona was deleted is read-only;
 * a friend withdraws their answer with the receipt this device kept.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "puppeteer-core";
import { eventually } from "./support/lifecycle.ts";
import { as, ownerWithAnswers, ownerWithReadyPersona } from "./support/saga.ts";
import { fillSurvey, h1, seriousViolations, signInLocally, submitSurvey } from "./support/web-pages.ts";
import { devicePage, webStack, type WebStack } from "./support/web-stack.ts";

let web: WebStack;
let downloads: string;
const pageErrors: string[][] = [];
before(async () => {
  web = await webStack({ EXPORTS_PER_DAY: "1", DELETION_RECHECK_SECONDS: "0" });
  downloads = await mkdtemp(join(tmpdir(), "remirai-downloads-"));
});
after(async () => {
  await web?.close();
  await rm(downloads, { recursive: true, force: true });
});

/** A device of its own; downloads land in `downloadPath`. */
async function device(downloadPath?: string) {
  const d = await devicePage(web.browser, undefined, { downloadPath });
  pageErrors.push(d.errors);
  return d;
}

/** The owner `uid` signed in on a device of their own, on "Your data". */
async function accountPage(uid: string, downloadPath?: string): Promise<Page> {
  const { page } = await device(downloadPath);
  await signInLocally(page, web.url, uid, "Mira Example");
  await page.goto(`${web.url}/account`);
  await page.waitForSelector("[data-testid=survey-state]");
  return page;
}

/** The section's status line once it says something other than "Working…". */
async function told(page: Page, section: string): Promise<string> {
  const selector = `section[aria-labelledby=${section}] p.status`;
  const said = `(document.querySelector(${JSON.stringify(selector)})?.textContent ?? "")`;
  await page.waitForFunction(`${said} !== "" && ${said} !== "Working…"`);
  return page.$eval(selector, (el) => el.textContent ?? "");
}

/** Clicks a deletion's button, reads what the confirmation says will go, and says yes. */
async function confirmDeletion(page: Page, label: string): Promise<string> {
  await page.locator(`button::-p-text(${label})`).click();
  const question = await page.waitForSelector(`.confirm[aria-label="${label}"]:not([hidden])`);
  const what = await question!.$eval("p", (p) => p.textContent ?? "");
  await page.locator(`button::-p-text(Yes, ${label.toLowerCase()})`).click();
  return what;
}

const surveyTitle = async (link: string) => {
  const { page } = await device();
  await page.goto(link);
  await page.waitForSelector("h1");
  return h1(page);
};

describe("your data", () => {
  test("the export downloads as a JSON file holding the user's id; the second of the day is told the daily limit", async () => {
    // Prepare: downloads from this device land in a directory of the test's.
    const owner = await ownerWithReadyPersona(web.stack.target);
    const page = await accountPage(owner.uid, downloads);

    // Act
    await page.locator("button::-p-text(Download my data)").click();
    const first = await told(page, "export-h");
    let file = "";
    await eventually("the download is complete", async () => {
      file = (await readdir(downloads)).find((name) => name.endsWith(".json")) ?? "";
      return file !== "";
    });
    await page.$eval("section[aria-labelledby=export-h] p.status", (el) => (el.textContent = ""));
    await page.locator("button::-p-text(Download my data)").click();
    const second = await told(page, "export-h");

    // Assess
    const exported = JSON.parse(await readFile(join(downloads, file), "utf8"));
    assert.match(first, /^Downloaded remirai-export-\d{4}-\d{2}-\d{2}\.json\.$/);
    assert.match(file, /^remirai-export-\d{4}-\d{2}-\d{2}\.json$/);
    assert.equal(exported.format, "remirai-export");
    assert.equal(exported.profile.user_id, owner.uid);
    assert.equal(exported.persona.persona_id, owner.personaId);
    assert.match(second, /^You have exported your data many times today\. Please try again in \d+ (seconds|minutes) \(at [^)]+\)\.$/);
  });

  test("closing the survey shows friends (and the owner's home) it is closed; a new round gives a new link that takes answers; a stale page's second new round is told why not", async () => {
    // Prepare: the owner's data page open on two devices.
    const { uid, surveyId } = await ownerWithAnswers(web.stack.target, 0);
    const oldLink = `${web.url}/s/${surveyId}`;
    const who = "Mira Example"; // the name they sign in with
    const page = await accountPage(uid);

    // Act: close, then start a new round.
    await page.locator("button::-p-text(Close the survey)").click();
    const closed = await told(page, "survey-h");
    const friendSees = await surveyTitle(oldLink);
    const { page: home } = await device();
    await signInLocally(home, web.url, uid, "Mira Example");
    const homeSays = await home.$eval("[data-testid=survey-closed]", (el) => el.textContent);
    const homeViolations = await seriousViolations(home);
    const stale = await accountPage(uid);
    await page.$eval("section[aria-labelledby=survey-h] p.status", (el) => (el.textContent = ""));
    await page.locator("button::-p-text(Start a new round)").click();
    const reopened = await told(page, "survey-h");
    const newLink = await page.$eval("[data-testid=survey-state] code", (el) => el.textContent ?? "");
    await stale.locator("button::-p-text(Start a new round)").click();
    const refused = await told(stale, "survey-h");

    // Assess
    assert.equal(closed, "Closed: your link now tells friends it takes no more answers. Your totals stay.");
    assert.equal(friendSees, `${who}'s survey is closed`);
    assert.equal(homeSays, "This survey is closed: the link takes no more answers. Start a new round for a new link.");
    assert.deepEqual(homeViolations, [], "axe-core: nothing serious or critical on the home page with its note");
    assert.match(newLink, new RegExp(`^${web.url}/s/[\\w-]{22}$`));
    assert.notEqual(newLink, oldLink);
    assert.equal(reopened, `A new round is open with a new link: ${newLink}`);
    assert.equal(await surveyTitle(newLink), `Describe ${who}`);
    assert.equal(await surveyTitle(oldLink), friendSees, "the old round stays closed");
    assert.equal(refused, "Only your current survey can start a new round.");
  });

  test("deleting the survey asks first, saying what goes; then its link does not exist", async () => {
    // Prepare
    const { uid, surveyId } = await ownerWithAnswers(web.stack.target, 3);
    const page = await accountPage(uid);

    // Act: ask, cancel, ask again and confirm.
    await page.locator("button::-p-text(Delete the survey)").click();
    await page.waitForSelector('.confirm[aria-label="Delete the survey"]:not([hidden])');
    await page.locator("button::-p-text(Cancel)").click();
    await page.waitForSelector('.confirm[aria-label="Delete the survey"][hidden]');
    const stillThere = await surveyTitle(`${web.url}/s/${surveyId}`);
    const what = await confirmDeletion(page, "Delete the survey");
    const result = await told(page, "survey-h");

    // Assess
    assert.match(stillThere, /^Describe /, "cancel deletes nothing");
    assert.match(what, /every friend's answer, its totals and its link/);
    assert.equal(result, "The survey is deleted. Home makes a new survey with a new link.");
    assert.equal(await page.$eval("[data-testid=survey-state]", (el) => el.textContent), "Deleted.");
    assert.equal(await surveyTitle(`${web.url}/s/${surveyId}`), "This survey does not exist");
  });
});

describe("a deleted persona's chats", () => {
  test("deleting the persona from 'Your data' makes its chat read-only: the page says so and the input is disabled", async () => {
    // Prepare: a chat with one turn.
    const owner = await ownerWithReadyPersona(web.stack.target);
    const chat: any = await (await fetch(`${web.url}/api/v1/chats`, { method: "POST", headers: as(owner.uid), body: "{}" })).json();
    await (
      await fetch(`${web.url}/api/v1/chats/${chat.chat_id}/messages`, { method: "POST", headers: as(owner.uid), body: '{"text":"Hello"}' })
    ).text();
    const page = await accountPage(owner.uid);

    // Act
    const what = await confirmDeletion(page, "Delete my persona");
    const result = await told(page, "persona-data-h");
    await page.goto(`${web.url}/chats/${chat.chat_id}`);
    await page.waitForSelector(".message");

    // Assess
    assert.match(what, /Chats with it, yours and other people's, stay readable but take no new messages/);
    assert.equal(result, "Your persona is deleted. Chats with it are read-only now.");
    assert.equal(
      await page.$eval("[data-testid=read-only]", (el) => ((el as any).hidden ? "" : el.textContent)),
      "This persona was deleted. You can still read this chat, but it takes no new messages.",
    );
    assert.deepEqual(
      await page.$eval("form.composer", (form) => [
        form.querySelector("textarea")!.disabled,
        form.querySelector("button[type=submit]")!.disabled,
      ]),
      [true, true],
    );
    // The persona's greeting, the message and its reply.
    assert.equal(await page.$$eval(".message", (items) => items.length), 3, "the history stays readable");
  });

  test("a chat open while its persona is deleted is told so by the 409 on send, and keeps the message in the box", async () => {
    // Prepare: the chat page is open; then the persona goes.
    const owner = await ownerWithReadyPersona(web.stack.target);
    const chat: any = await (await fetch(`${web.url}/api/v1/chats`, { method: "POST", headers: as(owner.uid), body: "{}" })).json();
    const { page } = await device();
    await signInLocally(page, web.url, owner.uid, "Mira Example");
    await page.goto(`${web.url}/chats/${chat.chat_id}`);
    await page.waitForSelector("textarea[name=text]:not([disabled])");
    assert.equal((await fetch(`${web.url}/api/v1/personas/me`, { method: "DELETE", headers: as(owner.uid) })).status, 200);

    // Act
    await page.type("textarea[name=text]", "Are you there?");
    await page.keyboard.press("Enter");
    await page.waitForSelector("p.status.error");

    // Assess
    assert.equal(
      await page.$eval("p.status.error", (el) => el.textContent),
      "This chat's persona was deleted: you can read the chat, but it takes no new messages.",
    );
    assert.deepEqual(await page.$eval("textarea[name=text]", (el: any) => ({ disabled: el.disabled, value: el.value })), {
      disabled: true,
      value: "Are you there?",
    });
    assert.equal(await page.$eval("[data-testid=read-only]", (el) => (el as any).hidden), false);
    assert.equal(await page.$$eval(".message[data-role=user]", (items) => items.length), 0, "nothing was stored");
  });
});

describe("a friend's answer", () => {
  test("the thank-you page withdraws the answer with the receipt this device kept; a second withdrawal says it is gone", async () => {
    // Prepare: the friend answers; a second tab of the same device opens the survey again.
    const { surveyId } = await ownerWithAnswers(web.stack.target, 0);
    const link = `${web.url}/s/${surveyId}`;
    const { page, context } = await device();
    await fillSurvey(page, link);
    const title = await submitSurvey(page);
    const kept = await page.evaluate((key) => localStorage.getItem(key), `remirai.receipt.${surveyId}`);
    const other = await context.newPage();
    await other.goto(link);
    await other.waitForSelector("::-p-text(Withdraw my answer)");

    // Act
    await page.locator("button::-p-text(Withdraw my answer)").click();
    await page.waitForSelector(".withdraw p.status.ok");
    await other.locator("button::-p-text(Withdraw my answer)").click();
    await other.waitForSelector(".withdraw p.status.error");

    // Assess
    assert.equal(title, "Thank you!");
    assert.ok(kept && kept.length > 0, "the receipt is kept on the device");
    assert.match(await page.$eval(".withdraw p.status", (el) => el.textContent ?? ""), /^Your answer is withdrawn/);
    assert.equal(await h1(other), "You have answered");
    assert.equal(
      await other.$eval(".withdraw p.status", (el) => el.textContent),
      "That answer is gone already: it was withdrawn, or the survey was deleted.",
    );
    assert.equal(
      await page.evaluate((key) => localStorage.getItem(key), `remirai.receipt.${surveyId}`),
      null,
      "the spent receipt is forgotten",
    );
  });
});

describe("the account", () => {
  test("deleting the account asks first, then signs out onto the 'deleted' page; the old identity's next API call is 401", async () => {
    // Prepare
    const owner = await ownerWithReadyPersona(web.stack.target);
    const page = await accountPage(owner.uid);

    // Act
    const what = await confirmDeletion(page, "Delete my account");
    await page.waitForSelector("[data-testid=deleted]");
    const landed = { path: new URL(page.url()).pathname, title: await h1(page), signOut: await page.$("nav button") };
    const session = await page.evaluate(() => sessionStorage.getItem("remirai.session"));
    const next = await fetch(`${web.url}/api/v1/surveys`, { method: "POST", headers: as(owner.uid) });
    await page.goto(`${web.url}/account`);
    await page.waitForSelector("form.local");

    // Assess
    assert.match(what, /This deletes everything: your profile, every survey/);
    assert.deepEqual(landed, { path: "/deleted", title: "Your account is deleted", signOut: null });
    assert.equal(new URL(page.url()).pathname, "/account");
    assert.equal(session, null, "signed out");
    assert.equal(next.status, 401);
    assert.equal(((await next.json()) as any).error.code, "account_deleted");
  });

  test("no page caused a script error, a Content-Security-Policy violation, or an API answer outside the contract", () => {
    assert.deepEqual(pageErrors.flat(), []);
  });
});
