/**
 * The web client's flows in a real (headless) Chromium, on the same origin as the API as
 * CloudFront serves them: friends answer, the owner watches the persona being made live,
 * chats with it token by token, stops a reply, reloads, shares the card, and sees chemistry.
 * The tests run in order and build on each other, as one person's afternoon would.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Page } from "puppeteer-core";
import type { RecordedRequest } from "../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../fixtures/model-fixtures.ts";
import { as, ownerWithAnswers, ownerWithReadyPersona } from "./support/saga.ts";
import { devicePage, webStack, type WebStack } from "./support/web-stack.ts";
import { fillSurvey, h1, replyShows, signInLocally, submitSurvey } from "./support/web-pages.ts";

const TEXT_MODEL = "gemini-2.5-flash";
const IMAGE_MODEL = "gemini-2.5-flash-image";

let web: WebStack;
const pageErrors: string[][] = [];
before(async () => {
  web = await webStack();
});
after(async () => {
  await web?.close();
});

async function device(viewport?: { width: number; height: number }) {
  const d = await devicePage(web.browser, viewport);
  pageErrors.push(d.errors);
  return d;
}

const owner = { uid: `owner-${randomUUID().slice(0, 8)}`, name: "Mira Example" };
let ownerPage: Page;
let surveyLink: string;

/** The next `streamGenerateContent` call the fake Gemini receives (a chat reply). */
const streamCalls = () => web.gemini.requests.filter((r) => r.method === "streamGenerateContent").length;
const nextReply = async (seen: number): Promise<RecordedRequest> =>
  (await web.gemini.arrived(seen + 1, (r) => r.method === "streamGenerateContent"))[seen]!;
const lastReplyText = (page: Page) => page.$eval(".message[data-role=persona]:last-child .text", (el) => el.textContent ?? "");

describe("a survey, answered by friends", () => {
  test("three friends answer through the UI on three devices; the third device's second try is told it already answered", async () => {
    // Prepare: the owner signs in and finds their link.
    ({ page: ownerPage } = await device());
    await signInLocally(ownerPage, web.url, owner.uid, owner.name);
    surveyLink = await ownerPage.$eval(".link-field", (el) => (el as any).value);
    assert.match(surveyLink, new RegExp(`^${web.url}/s/[\\w-]{22}$`));

    // Act: three devices, each with its own storage (and so its own fingerprint).
    const titles: string[] = [];
    let third: Page | undefined;
    for (let i = 0; i < 3; i++) {
      const { page } = await device();
      await fillSurvey(page, surveyLink);
      assert.equal(await h1(page), `Describe ${owner.name}`, "the survey says whose it is");
      titles.push(await submitSurvey(page));
      third = page;
    }
    await fillSurvey(third!, surveyLink);
    const again = await submitSurvey(third!);

    // Assess
    assert.deepEqual(titles, ["Thank you!", "Thank you!", "Thank you!"]);
    assert.equal(again, "You have already answered");
  });

  test("the owner sees 3 answers and the summary; picking their own words draws the Johari window", async () => {
    // Act
    await ownerPage.reload();
    await ownerPage.waitForSelector("[data-testid=answer-counts]");
    const counts = await ownerPage.$eval("[data-testid=answer-counts]", (el) => el.textContent);
    const bars = await ownerPage.$eval("svg.chart title", (el) => el.textContent);
    await ownerPage.click("form.self summary");
    for (const word of ["kind", "calm", "shy", "logical", "modest"]) await ownerPage.click(`form.self input[value="${word}"]`);
    await ownerPage.click("form.self button[type=submit]");
    await ownerPage.waitForSelector("svg.johari");
    const johari = await ownerPage.$eval("svg.johari title", (el) => el.textContent ?? "");

    // Assess
    assert.equal(counts, "3 answers so far");
    assert.match(bars!, /^Trait scores: Extraversion \d\.\d of 7/);
    assert.match(johari, /Open \(seen by you and your friends\): calm, kind\./);
    assert.match(johari, /Blind spot \(seen by your friends, not you\): brave, wise, witty\./);
    assert.match(johari, /Hidden \(seen by you, not your friends\): logical, modest, shy\./);
  });

  test("creating the persona shows synthesizing → generating_image → ready as they happen, without a reload", async () => {
    // Prepare: each step's model call waits for the test, so each status is seen while it holds.
    web.gemini.enqueue(
      { kind: "json", value: PERSONA_CARD, model: TEXT_MODEL, held: true },
      { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png", model: IMAGE_MODEL, held: true },
    );
    await ownerPage.evaluate("window.sameDocument = true");
    const steps = () => ownerPage.$$eval(".steps li", (items) => items.map((li) => (li as any).dataset.status));

    // Act + Assess, step by step
    await ownerPage.locator("::-p-text(Create my persona)").click();
    await ownerPage.waitForSelector(".steps li[data-status=synthesizing]");
    const [writing] = await web.gemini.arrived(1, (r) => r.model === TEXT_MODEL && r.method === "generateContent");
    assert.deepEqual(await steps(), ["synthesizing"]);
    writing!.release();
    await ownerPage.waitForSelector(".steps li[data-status=generating_image]");
    const [drawing] = await web.gemini.arrived(1, (r) => r.model === IMAGE_MODEL);
    assert.deepEqual(await steps(), ["synthesizing", "generating_image"]);
    drawing!.release();
    await ownerPage.waitForSelector(".steps li[data-status=ready]");

    assert.deepEqual(await steps(), ["synthesizing", "generating_image", "ready"]);
    await ownerPage.waitForSelector("::-p-text(Meet Aki)");
    assert.equal(await ownerPage.evaluate("window.sameDocument"), true, "no page load");
  });
});

describe("chatting with the persona", () => {
  test("the visible reply grows over three observations before `done`; the finished reply is marked complete", async () => {
    // Prepare: the model writes each chunk after the one before was seen in the page.
    await ownerPage.goto(`${web.url}/persona`);
    await ownerPage.locator("::-p-text(Chat with Aki)").click();
    await ownerPage.waitForSelector("textarea[name=text]");
    web.gemini.enqueue({ kind: "text", chunks: ["One", " two", " three", " four", "."], stepwise: true });
    const seen = streamCalls();

    // Act
    await ownerPage.type("textarea[name=text]", "Hi there");
    await ownerPage.keyboard.press("Enter");
    const reply = await nextReply(seen);
    const observations: { text: string; done: boolean }[] = [];
    for (const expected of ["One", "One two", "One two three"]) {
      await replyShows(ownerPage, expected);
      observations.push({
        text: await lastReplyText(ownerPage),
        done: await ownerPage.$eval(".message[data-role=persona]:last-child", (el) => (el as any).dataset.done === "true"),
      });
      reply.release();
    }
    reply.release();
    await ownerPage.waitForSelector(".message[data-role=persona]:last-child[data-done=true]");

    // Assess
    assert.deepEqual(observations, [
      { text: "One", done: false },
      { text: "One two", done: false },
      { text: "One two three", done: false },
    ]);
    assert.equal(await lastReplyText(ownerPage), "One two three four.");
    assert.equal(await ownerPage.$eval(".message[data-role=persona]:last-child", (el) => (el as any).dataset.status), "complete");
  });

  test("Stop leaves the partial reply marked interrupted; after a reload the history shows both messages", async () => {
    // Prepare
    web.gemini.enqueue({ kind: "text", chunks: ["Once upon", " a time", " there was"], stepwise: true });
    const seen = streamCalls();
    await ownerPage.type("textarea[name=text]", "Tell me a story");
    await ownerPage.keyboard.press("Enter");
    await nextReply(seen);
    await replyShows(ownerPage, "Once upon");

    // Act
    await ownerPage.locator("button::-p-text(Stop)").click();
    await ownerPage.waitForSelector(".message[data-role=persona]:last-child[data-done=true]");
    const shown = await ownerPage.$eval(".message[data-role=persona]:last-child", (el) => ({
      status: (el as any).dataset.status,
      badge: el.querySelector(".badge")!.textContent,
    }));
    await ownerPage.reload();
    await ownerPage.waitForSelector(".message");
    const stored = await ownerPage.$$eval(".message", (items) =>
      items.slice(-2).map((li) => ({
        role: (li as any).dataset.role,
        status: (li as any).dataset.status,
        text: li.querySelector(".text")!.textContent,
      })),
    );

    // Assess
    assert.deepEqual(shown, { status: "interrupted", badge: "Interrupted: the reply was cut short" });
    assert.deepEqual(stored, [
      { role: "user", status: "complete", text: "Tell me a story" },
      { role: "persona", status: "interrupted", text: "Once upon" },
    ]);
  });

  test("a reload in the middle of a reply shows what was stored of it", async () => {
    // Prepare
    web.gemini.enqueue({ kind: "text", chunks: ["Half", " a thought", " more"], stepwise: true });
    const seen = streamCalls();
    await ownerPage.type("textarea[name=text]", "Quick question");
    await ownerPage.keyboard.press("Enter");
    const reply = await nextReply(seen);
    await replyShows(ownerPage, "Half");

    // Act: the page goes away mid-reply (the model is left waiting), then comes back.
    await ownerPage.reload();
    await reply.settled;
    await ownerPage.waitForSelector(".message[data-role=persona]:last-child[data-status=interrupted]");

    // Assess
    const last = await ownerPage.$$eval(".message", (items) => items.slice(-2).map((li) => li.querySelector(".text")!.textContent));
    assert.deepEqual(last, ["Quick question", "Half"]);
  });

  test("older messages load when the history is scrolled to the top, keeping the reader's place", async () => {
    // Prepare: a chat with its greeting and 11 turns (23 messages; a page holds 20).
    const chat: any = await (await fetch(`${web.url}/api/v1/chats`, { method: "POST", headers: as(owner.uid), body: "{}" })).json();
    for (let i = 0; i < 11; i++) {
      const res = await fetch(`${web.url}/api/v1/chats/${chat.chat_id}/messages`, {
        method: "POST",
        headers: as(owner.uid),
        body: JSON.stringify({ text: `message ${i}` }),
      });
      await res.text();
    }
    await ownerPage.goto(`${web.url}/chats/${chat.chat_id}`);
    await ownerPage.waitForSelector(".message");
    const before = await ownerPage.$$eval(".message", (items) => items.length);

    // Act
    await ownerPage.$eval(".log", (log) => log.scrollTo({ top: 0 }));
    await ownerPage.waitForFunction(`document.querySelectorAll(".message").length === 23`);

    // Assess
    assert.equal(before, 20);
    const texts = await ownerPage.$$eval(".message .text", (els) => els.map((el) => el.textContent));
    assert.equal(await ownerPage.$eval(".message", (el) => el.getAttribute("data-role")), "persona", "the greeting comes first");
    assert.equal(texts[1], "message 0");
    assert.equal(await ownerPage.$eval("button.older", (el) => (el as any).hidden), true, "nothing older is left");
    assert.ok(await ownerPage.$eval(".log", (log) => log.scrollTop > 0), "the view stays on what the reader was looking at");
  });

  test("markup and links in the model's reply are shown as plain text, never as elements", async () => {
    // Prepare
    web.gemini.enqueue({
      kind: "text",
      chunks: ['<img src=x onerror="window.pwned=1">', " see https://evil.example/x or ", '<a href="https://evil.example">this</a>'],
    });
    await ownerPage.type("textarea[name=text]", "Show me something");

    // Act
    await ownerPage.keyboard.press("Enter");
    await ownerPage.waitForSelector(".message[data-role=persona]:last-child[data-done=true]");

    // Assess
    assert.equal(
      await lastReplyText(ownerPage),
      '<img src=x onerror="window.pwned=1"> see https://evil.example/x or <a href="https://evil.example">this</a>',
    );
    assert.equal(await ownerPage.$$eval(".messages img, .messages a", (els) => els.length), 0);
    assert.equal(await ownerPage.evaluate("window.pwned"), undefined);
  });
});

describe("sharing", () => {
  test("the owner sees their private persona's portrait: the page fetches it with their credentials", async () => {
    // Prepare: watch what the page asks the portrait route for.
    const portrait = `${web.url}/api/v1/personas/me/portrait`;
    const asked: { status: number; signedIn: boolean }[] = [];
    const watch = (response: any) => {
      const headers = response.request().headers();
      if (response.url() === portrait)
        asked.push({ status: response.status(), signedIn: "authorization" in headers || "x-user-uid" in headers });
    };
    ownerPage.on("response", watch);

    // Act
    await ownerPage.goto(`${web.url}/persona`);
    await ownerPage.waitForSelector("button[role=switch][aria-checked=false]");
    await ownerPage.waitForSelector("img.portrait:not([data-loading])");
    ownerPage.off("response", watch);

    // Assess: one signed-in request answered 200, shown from its bytes; an <img> alone sends no token.
    const shown = await ownerPage.$eval("img.portrait", (img: any) => ({
      scheme: new URL(img.src).protocol,
      failed: img.dataset.failed ?? null,
    }));
    assert.deepEqual(shown, { scheme: "blob:", failed: null });
    assert.deepEqual(asked, [{ status: 200, signedIn: true }]);
    assert.equal((await fetch(portrait)).status, 401);
  });

  test("the public card of a private persona is the not-found page; made public with the switch, it shows", async () => {
    // Prepare
    const { persona_id: personaId }: any = await (await fetch(`${web.url}/api/v1/personas/me`, { headers: as(owner.uid) })).json();
    const { page: stranger } = await device();
    await stranger.goto(`${web.url}/p/${personaId}`);
    await stranger.waitForSelector("h1");
    const whilePrivate = await h1(stranger);

    // Act
    await ownerPage.goto(`${web.url}/persona`);
    await ownerPage.waitForSelector("button[role=switch][aria-checked=false]");
    await ownerPage.click("button[role=switch]");
    await ownerPage.waitForSelector("button[role=switch][aria-checked=true]");
    const exportHref = await ownerPage.$eval("a[download]", (a) => a.getAttribute("href"));
    await stranger.reload();
    await stranger.waitForSelector("img.portrait");

    // Assess
    assert.equal(whilePrivate, "Not found");
    assert.equal(await h1(stranger), "Aki");
    const exported: any = await (await fetch(`${web.url}${exportHref}`)).json();
    assert.equal(exported.spec, "chara_card_v3");
    assert.equal(exported.data.name, "Aki");
  });

  test("signed in, a public persona's page shows the chemistry between it and yours", async () => {
    // Prepare: someone else's ready, public persona.
    const other = await ownerWithReadyPersona(web.stack.target);
    await fetch(`${web.url}/api/v1/personas/me/visibility`, { method: "PUT", headers: as(other.uid), body: '{"public":true}' });
    const expected: any = await (
      await fetch(`${web.url}/api/v1/personas/me/chemistry/${other.personaId}?blurb=false`, { headers: as(owner.uid) })
    ).json();

    // Act
    await ownerPage.goto(`${web.url}/p/${other.personaId}`);
    await ownerPage.locator("::-p-text(Our chemistry)").click();
    await ownerPage.waitForSelector("[data-testid=chemistry-score]");

    // Assess
    assert.equal(await ownerPage.$eval("[data-testid=chemistry-score]", (el) => el.textContent), String(expected.score));
  });
  test("asking for chemistry without a persona of your own says to make one; while yours is being written, to wait for it", async () => {
    // Prepare: a public persona; one viewer with no persona, one whose persona is being written (the model held).
    const other = await ownerWithReadyPersona(web.stack.target);
    await fetch(`${web.url}/api/v1/personas/me/visibility`, { method: "PUT", headers: as(other.uid), body: '{"public":true}' });
    const none = `viewer-${randomUUID().slice(0, 8)}`;
    const waiting = await ownerWithAnswers(web.stack.target, 3);
    web.gemini.enqueue({ kind: "json", value: PERSONA_CARD, model: TEXT_MODEL, held: true });
    const seen = web.gemini.requests.filter((r) => r.model === TEXT_MODEL && r.method === "generateContent").length;
    assert.equal((await fetch(`${web.url}/api/v1/personas/me`, { method: "POST", headers: as(waiting.uid) })).status, 202);
    const writing = (await web.gemini.arrived(seen + 1, (r) => r.model === TEXT_MODEL && r.method === "generateContent"))[seen]!;

    // Act
    const told: string[] = [];
    for (const uid of [none, waiting.uid]) {
      const { page } = await device();
      await signInLocally(page, web.url, uid, "Viewer");
      await page.goto(`${web.url}/p/${other.personaId}`);
      await page.locator("::-p-text(Our chemistry)").click();
      await page.waitForSelector("p.status.error");
      told.push(await page.$eval("p.status.error", (el) => el.textContent ?? ""));
    }
    writing.release();

    // Assess
    assert.deepEqual(told, ["Make your own persona first (or this one is no longer public).", "Your own persona must be ready first."]);
  });
});

describe("the live status feed", () => {
  test("after a dropped connection it reconnects with Last-Event-ID and shows every step once", async () => {
    // Prepare: a new owner with 3 answers, signed in; step 1 waits for the test.
    const fresh = await ownerWithAnswers(web.stack.target, 3);
    const { page } = await device();
    await signInLocally(page, web.url, fresh.uid, "Feed Tester");
    const feeds: (string | undefined)[] = [];
    page.on("request", (r) => r.url().endsWith("/api/v1/personas/me/events") && feeds.push(r.headers()["last-event-id"]));
    web.gemini.enqueue({ kind: "json", value: PERSONA_CARD, model: TEXT_MODEL, held: true });
    const before = web.gemini.requests.filter((r) => r.model === TEXT_MODEL && r.method === "generateContent").length;
    await page.locator("::-p-text(Create my persona)").click();
    await page.waitForSelector(".steps li[data-status=synthesizing]");
    const writing = (await web.gemini.arrived(before + 1, (r) => r.model === TEXT_MODEL && r.method === "generateContent"))[before]!;

    // Act: every connection to the origin drops (the feed's among them), then the saga goes on.
    web.server.server.closeAllConnections();
    writing.release();
    await page.waitForSelector(".steps li[data-status=ready]");

    // Assess
    const steps = await page.$$eval(".steps li", (items) => items.map((li) => (li as any).dataset.status));
    assert.deepEqual(steps, ["synthesizing", "generating_image", "ready"]);
    assert.equal(feeds[0], undefined, "the first connection starts at the saga's beginning");
    assert.ok(feeds.length >= 2, "it reconnected");
    assert.match(feeds[1] ?? "", /^\d+$/, "with the id of the last event it had");
  });

  test("no page caused a script error, a Content-Security-Policy violation, or an API answer outside the contract", () => {
    assert.deepEqual(pageErrors.flat(), []);
  });
});
