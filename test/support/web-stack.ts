/**
 * The web client on the local services, as `./run.sh` serves it: the bundle built from
 * web/ (into a temporary directory), the front server (backend/local/front.ts) on one
 * origin with the API under /api, the saga's workers, the real Gemini SDK against the fake
 * Gemini server (slow tokens), and one headless Chromium from @sparticuz/chromium driven by
 * puppeteer-core (docs/decisions.md, "Web client (issue 16)").
 *
 * One browser per test file: its first launch unpacks the binary to /tmp, and two
 * processes unpacking at once could race.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import chromium from "@sparticuz/chromium";
import puppeteer, { type Browser, type BrowserContext, type HTTPRequest, type Page } from "puppeteer-core";
import { serve, type RunningServer } from "../../backend/api/adapters/node.ts";
import { createApi } from "../../backend/api/index.ts";
import { withWebClient } from "../../backend/local/front.ts";
import { freePort } from "../../backend/local/services.ts";
import { promptText, startFakeGemini, type Behaviour, type FakeGemini } from "../../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../../fixtures/model-fixtures.ts";
import { buildWeb, type BuiltWeb } from "../../scripts/build-web.ts";
import { contract } from "./contract.ts";
import { watch } from "./contract-watch.ts";
import { quiet, sagaStack, type SagaStack } from "./saga.ts";

/** A chat reply when a test queues nothing else: five tokens, 40 ms apart. */
export const SLOW_REPLY = ["Hello", " from", " your", " mirror", "."];

export interface WebStack {
  /** The one origin: http://127.0.0.1:<port> */
  url: string;
  stack: SagaStack;
  gemini: FakeGemini;
  server: RunningServer;
  browser: Browser;
  web: BuiltWeb;
  close(): Promise<void>;
}

/** Chromium's own flags from the package, minus those that would weaken what the tests check. */
const WEAKENING = new Set([
  "--disable-web-security",
  "--allow-running-insecure-content",
  "--disable-site-isolation-trials",
  "--single-process",
]);

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args.filter((arg) => !WEAKENING.has(arg)),
    headless: true,
  });
}

export async function webStack(env: Record<string, string> = {}): Promise<WebStack> {
  const dir = await mkdtemp(join(tmpdir(), "remirai-web-"));
  const web = await buildWeb({ outDir: join(dir, "web"), env: {} });
  const gemini = await startFakeGemini({
    apiKey: "test-key",
    fallback: (r): Behaviour =>
      r.model.includes("image")
        ? { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png" }
        : r.method === "streamGenerateContent"
          ? { kind: "text", chunks: SLOW_REPLY, delayMs: 40 }
          : promptText(r).includes("chemistry between two AI personas")
            ? { kind: "json", value: { blurb: "Two steady souls who would share tea in comfortable silence." } }
            : { kind: "json", value: PERSONA_CARD },
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const stack = await sagaStack({
    GEMINI_API_KEY: "test-key",
    GEMINI_BASE_URL: gemini.url,
    PUBLIC_BASE_URL: url,
    CHAT_MESSAGES_PER_MINUTE: "1000",
    CHAT_STOP_POLL_MS: "20",
    ...env,
  });
  const app = withWebClient(createApi(stack.config, { logger: quiet, domains: stack.domains }), { dir: web.dir, config: stack.config });
  const server = await serve(app, { port, host: "127.0.0.1" });
  // What the tests fetch themselves is checked against the contract; the pages' own paths are skipped.
  const unwatch = watch(url, "with-web");
  const browser = await launchBrowser();
  return {
    url,
    stack,
    gemini,
    server,
    browser,
    web,
    async close() {
      await browser.close();
      await server.close(0);
      unwatch();
      await stack.close();
      await gemini.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 360, height: 740 };

/** A page in a fresh context (its own storage: another device), failing the test on any page error. */
export async function devicePage(
  browser: Browser,
  viewport = DESKTOP,
  options: { downloadPath?: string } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.createBrowserContext(
    options.downloadPath ? { downloadBehavior: { policy: "allow", downloadPath: options.downloadPath } } : {},
  );
  const page = await context.newPage();
  await page.setViewport(viewport);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("requestfinished", (request) => void checkedByContract(request).catch((error: unknown) => errors.push(String(error))));
  // A CSP violation is reported to the console; nothing of ours may cause one.
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Trusted Type/i.test(message.text())) errors.push(message.text());
  });
  return { context, page, errors };
}

/**
 * What the browser received from the API, checked against docs/openapi.json like every
 * response the test process fetches: status, headers, content type and the JSON body (a
 * stream's head only: the browser's copy of its events cannot be read back).
 */
async function checkedByContract(request: HTTPRequest): Promise<void> {
  const response = request.response();
  if (!response) return;
  const url = new URL(response.url());
  const check = contract().begin(
    { method: request.method(), path: url.pathname + url.search, status: response.status(), headers: response.headers() },
    "with-web",
  );
  if (!check || check.streaming) return;
  // The page may have navigated away before the body could be read: nothing to check then.
  const body = await response.text().catch(() => undefined);
  if (body !== undefined) check.body(body);
}

/** Waits until `selector`'s text satisfies `check` (polling the page, with puppeteer's deadline). */
export async function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? "");
}
