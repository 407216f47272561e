/**
 * The web client's pages in a real (headless) Chromium: every page passes an axe-core scan
 * and fits a 360 px screen, a friend can answer with the keyboard alone, every way an answer
 * can be refused is told in words, and Google sign-in (Google's script stood in for, our
 * real exchange behind it) keeps our token out of localStorage.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "puppeteer-core";
import { startGoogleIssuer, TEST_CLIENT_ID, type GoogleIssuer } from "./support/google-issuer.ts";
import { ownerWithAnswers } from "./support/saga.ts";
import { fillSurvey, h1, overflowsSideways, seriousViolations, submitSurvey, type Violation } from "./support/web-pages.ts";
import { DESKTOP, devicePage, PHONE, webStack, type WebStack } from "./support/web-stack.ts";
import { tour } from "./support/web-tour.ts";

let web: WebStack;
let google: GoogleIssuer;
before(async () => {
  google = await startGoogleIssuer();
  web = await webStack({
    ANSWERS_PER_IP_PER_HOUR: "3",
    GOOGLE_CLIENT_ID: TEST_CLIENT_ID,
    GOOGLE_ISSUERS: google.issuer,
    GOOGLE_JWKS_URL: google.jwksUrl,
  });
});
after(async () => {
  await web?.close();
  await google?.close();
});

/** Google's sign-in script, stood in for: its button hands the page a test issuer's ID token. */
async function fakeGoogle(page: Page, idToken = ""): Promise<void> {
  const script = `window.google = { accounts: { id: {
    initialize(options) { window.gisOptions = options; },
    renderButton(parent) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Sign in with Google";
      button.addEventListener("click", () => window.gisOptions.callback({ credential: ${JSON.stringify(idToken)} }));
      parent.append(button);
    },
  } } };`;
  await page.setRequestInterception(true);
  page.on("request", (request) =>
    request.url() === "https://accounts.google.com/gsi/client"
      ? request.respond({ status: 200, contentType: "text/javascript", body: script })
      : request.continue(),
  );
}

describe("a friend's survey", () => {
  test("answered with the keyboard alone on a 360 px screen", async () => {
    // Prepare
    const { surveyId } = await ownerWithAnswers(web.stack.target, 0);
    const { page, errors } = await devicePage(web.browser, PHONE);
    await page.goto(`${web.url}/s/${surveyId}`);
    await page.waitForSelector("form fieldset.adjectives");
    const focused = (selector: string) =>
      page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`) as Promise<boolean>;
    const tabTo = async (selector: string) => {
      for (let i = 0; i < 200 && !(await focused(selector)); i++) await page.keyboard.press("Tab");
      assert.ok(await focused(selector), `Tab reaches ${selector}`);
    };

    // Act: Space picks five words; arrows choose each rating; Tab moves on; Enter sends.
    await tabTo("input[name=adjective]");
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press("Space");
      await page.keyboard.press("Tab");
    }
    for (let group = 0; group < 10; group++) {
      await tabTo("input[type=radio]");
      for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowRight");
      await page.keyboard.press("Tab");
    }
    await tabTo("textarea");
    await page.keyboard.type("Kind to everyone");
    const count = await page.$eval("textarea[name=strength] + .count", (el) => el.textContent);
    await tabTo("button[type=submit]");
    const sideways = await overflowsSideways(page);
    await page.keyboard.press("Enter");
    await page.waitForFunction(`document.querySelector("h1")?.textContent === "Thank you!"`);

    // Assess
    assert.equal(count, "16 of 500 characters");
    assert.equal(sideways, false, "nothing scrolls sideways at 360 px");
    assert.equal(await page.evaluate("document.activeElement?.tagName"), "H1", "focus moves to the outcome");
    assert.deepEqual(errors, []);
  });

  test("the count of words is enforced as they are picked", async () => {
    const { surveyId } = await ownerWithAnswers(web.stack.target, 0);
    const { page } = await devicePage(web.browser);
    await fillSurvey(page, `${web.url}/s/${surveyId}`, ["kind", "witty", "calm", "brave", "wise", "shy"]);
    const disabled = await page.$$eval("input[name=adjective]", (boxes) => boxes.filter((b) => (b as any).disabled).length);
    assert.equal(disabled, 56 - 6);
    assert.equal(await page.$eval("fieldset.adjectives .count", (el) => el.textContent), "6 of 5–6 picked (the most you can pick)");
  });

  test("an unknown survey, a rate limit (with when to retry) and a lost network each get a clear message", async () => {
    // Prepare: a survey this network already answered 3 times (the limit), and a fresh one.
    const limited = await ownerWithAnswers(web.stack.target, 3);
    const fresh = await ownerWithAnswers(web.stack.target, 0);
    const { page, errors } = await devicePage(web.browser);

    // Act
    await page.goto(`${web.url}/s/AAAAAAAAAAAAAAAAAAAAAA`);
    await page.waitForSelector("h1");
    const unknown = await h1(page);
    await fillSurvey(page, `${web.url}/s/${limited.surveyId}`);
    await submitSurvey(page);
    const limit = await page.$eval(".alert", (el) => el.textContent);
    await fillSurvey(page, `${web.url}/s/${fresh.surveyId}`);
    await page.setOfflineMode(true);
    await submitSurvey(page);
    const offline = await page.$eval(".alert", (el) => el.textContent);
    const kept = await page.$$eval("input:checked", (inputs) => inputs.length);
    await page.setOfflineMode(false);
    const retried = await submitSurvey(page);

    // Assess
    assert.equal(unknown, "This survey does not exist");
    assert.match(limit!, /^Too many answers from your network right now\. Please try again in \d+ (seconds|minutes) \(at [^)]+\)\.$/);
    assert.equal(offline, "You seem to be offline. Your answers are still here: send them again once you are connected.");
    assert.equal(kept, 5 + 10, "the answers stay in the form");
    assert.equal(retried, "Thank you!");
    assert.deepEqual(errors, []);
  });
});

describe("signing in with Google", () => {
  test("Google's ID token becomes our token, kept in sessionStorage (never localStorage) and sent as a Bearer token", async () => {
    // Prepare
    const idToken = await google.idToken({ sub: "google-user-1", name: "Gia Google" });
    const { page, errors } = await devicePage(web.browser);
    await fakeGoogle(page, idToken);
    const bearer: string[] = [];
    page.on("request", (r) => r.url().includes("/api/v1/surveys") && bearer.push(r.headers().authorization ?? ""));

    // Act
    await page.goto(`${web.url}/sign-in`);
    await page.locator("::-p-text(Sign in with Google)").click();
    await page.waitForSelector(".link-field");
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem("remirai.session"), local: { ...localStorage } }));

    // Assess
    assert.match(JSON.parse(stored.session!).token, /^ey/);
    assert.equal(JSON.parse(stored.session!).name, "Gia Google");
    assert.ok(!JSON.stringify(stored.local).includes(JSON.parse(stored.session!).token), "no token in localStorage");
    assert.match(bearer[0] ?? "", /^Bearer ey/);
    assert.match(await page.$eval("nav button", (b) => b.textContent ?? ""), /Sign out Gia Google/);
    assert.deepEqual(errors, []);
  });

  test("deleting the account signs out onto the 'deleted' page, and the old Google session's token is refused (401 account_deleted)", async () => {
    // Prepare: signed in with Google; the token the tab holds.
    const idToken = await google.idToken({ sub: "google-user-leaving", name: "Lee Leaving" });
    const { page, errors } = await devicePage(web.browser);
    await fakeGoogle(page, idToken);
    await page.goto(`${web.url}/sign-in`);
    await page.locator("::-p-text(Sign in with Google)").click();
    await page.waitForSelector(".link-field");
    const token: string = await page.evaluate(() => JSON.parse(sessionStorage.getItem("remirai.session")!).token);
    const bearer = { authorization: `Bearer ${token}` };
    const before = await fetch(`${web.url}/api/v1/personas/me`, { headers: bearer });

    // Act
    await page.goto(`${web.url}/account`);
    await page.locator("button::-p-text(Delete my account)").click();
    await page.locator("button::-p-text(Yes, delete my account)").click();
    await page.waitForSelector("[data-testid=deleted]");
    const after = await fetch(`${web.url}/api/v1/personas/me`, { headers: bearer });

    // Assess
    assert.equal(before.status, 200);
    assert.equal(new URL(page.url()).pathname, "/deleted");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("remirai.session")), null, "signed out");
    assert.equal(after.status, 401);
    assert.equal(((await after.json()) as any).error.code, "account_deleted");
    assert.deepEqual(errors, []);
  });
});

describe("every page", () => {
  test("has no serious or critical axe-core violation, at 1280 and at 360 px, and nothing scrolls sideways on a phone", async () => {
    // Prepare: the scan itself sees a planted violation (an image without alternative text).
    const { page: planted } = await devicePage(web.browser);
    await planted.setContent('<html lang="en"><title>t</title><main><img src="data:,"></main></html>');
    assert.deepEqual(
      (await seriousViolations(planted)).map((v) => v.id),
      ["image-alt"],
    );

    // Act
    const found: Record<string, Violation[]> = {};
    const sideways: string[] = [];
    const visited: string[] = [];
    await tour(web, web.browser, async (name, page) => {
      visited.push(name);
      for (const [label, viewport] of [
        ["desktop", DESKTOP],
        ["phone", PHONE],
      ] as const) {
        await page.setViewport(viewport);
        const violations = await seriousViolations(page);
        if (violations.length > 0) found[`${name} (${label})`] = violations;
        if (label === "phone" && (await overflowsSideways(page))) sideways.push(name);
      }
    });

    // Assess
    assert.equal(visited.length, 13, `every page visited: ${visited.join(", ")}`);
    assert.deepEqual(found, {});
    assert.deepEqual(sideways, []);
  });

  test("the shell carries the Content-Security-Policy and no inline script; client routes get the shell", async () => {
    const res = await fetch(`${web.url}/s/some-survey`);
    const html = await res.text();
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.equal(res.status, 200);
    assert.match(csp, /script-src 'self' https:\/\/accounts\.google\.com\/gsi\/client;/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.deepEqual(
      [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => /\bsrc="\/assets\/app-\w+\.js"/.test(m[1]!)),
      [true],
    );
  });
});
