/**
 * `npm run screenshots`: every page of the web client (test/support/web-tour.ts), at 1280 px
 * and at 360 px, as PNGs in docs/screenshots/. Runs its own DynamoDB Local and fauxqs, and
 * the offline persona writer and portraits (no model key), so the pictures are the same on
 * any machine but for dates and ids.
 */
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { globalSetup, globalTeardown } from "../test/support/global-setup.ts";

const OUT = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "docs/screenshots");
const VIEWPORTS = [
  ["desktop", { width: 1280, height: 900 }],
  ["360", { width: 360, height: 740 }],
] as const;

await globalSetup();
// The stack still checks its answers against the contract; the count is for test runs (its file would be gone by exit).
delete process.env.CONTRACT_COUNT_FILE;
const { webStack } = await import("../test/support/web-stack.ts");
const { tour } = await import("../test/support/web-tour.ts");
const web = await webStack({ GEMINI_API_KEY: "" });
try {
  await mkdir(OUT, { recursive: true });
  await tour(web, web.browser, async (name, page) => {
    for (const [label, viewport] of VIEWPORTS) {
      await page.setViewport(viewport);
      const path = join(OUT, `${name}-${label}.png`);
      await page.screenshot({ path: path as `${string}.png`, fullPage: true });
      console.log(`wrote ${path}`);
    }
  });
} finally {
  await web.close();
  await globalTeardown();
}
