/**
 * The web client's build: web/src bundled by esbuild into `dist/web`, laid out for the SPA
 * bucket (docs/deploy.md, step 5):
 *
 *   dist/web/index.html            the shell: no inline script, links the hashed assets
 *   dist/web/assets/app-<hash>.js  every line of JavaScript (≤ 60 KiB gzipped, or the build fails)
 *   dist/web/assets/app-<hash>.css
 *   dist/web/config.json           which sign-in to offer: `GOOGLE_CLIENT_ID` at build time
 *   dist/web/favicon.svg …         web/public as is
 *
 * Locally the front server answers /config.json itself, from the stack's own settings.
 *
 * Usage: node --import tsx scripts/build-web.ts [--outdir DIR] [--if-stale]
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WEB = join(ROOT, "web");
/** The budget for all the JavaScript a browser loads from us. */
export const JS_BUDGET_GZIP_BYTES = 60 * 1024;

export interface BuiltWeb {
  dir: string;
  /** Asset paths as index.html links them (`/assets/app-<hash>.js`). */
  script: string;
  style: string;
  jsBytes: number;
  jsGzipBytes: number;
  cssGzipBytes: number;
}

/** Builds into `outDir` (replaced whole, only once the new build is complete). */
export async function buildWeb({ outDir, env = process.env }: { outDir: string; env?: NodeJS.ProcessEnv }): Promise<BuiltWeb> {
  const staging = `${outDir}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { app: join(WEB, "src/main.ts") },
    outdir: join(staging, "assets"),
    entryNames: "[name]-[hash]",
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome120", "firefox121", "safari17"],
    minify: true,
    metafile: true,
    legalComments: "none",
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => `/${path.slice(path.indexOf("assets/"))}`);
  const script = outputs.find((p) => p.endsWith(".js"))!;
  const style = outputs.find((p) => p.endsWith(".css"))!;
  const shell = (await readFile(join(WEB, "index.html"), "utf8")).replace("%SCRIPT%", script).replace("%STYLE%", style);
  await writeFile(join(staging, "index.html"), shell);
  await cp(join(WEB, "public"), staging, { recursive: true });
  const googleClientId = env.GOOGLE_CLIENT_ID || null;
  await writeFile(join(staging, "config.json"), `${JSON.stringify({ local_sign_in: false, google_client_id: googleClientId })}\n`);

  const js = await readFile(join(staging, script));
  const jsGzipBytes = gzipSync(js, { level: 9 }).length;
  if (jsGzipBytes > JS_BUDGET_GZIP_BYTES)
    throw new Error(`web JavaScript is ${jsGzipBytes} bytes gzipped, over the ${JS_BUDGET_GZIP_BYTES} budget`);
  const cssGzipBytes = gzipSync(await readFile(join(staging, style)), { level: 9 }).length;

  await rm(outDir, { recursive: true, force: true });
  await mkdir(dirname(outDir), { recursive: true });
  await rename(staging, outDir);
  return { dir: outDir, script, style, jsBytes: js.length, jsGzipBytes, cssGzipBytes };
}

/** What the build reads: web/ and this script, the lockfile (esbuild, eventsource-parser), the client id. */
export async function inputsHash(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const hash = createHash("sha256");
  const files = (await readdir(WEB, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of [...files, fileURLToPath(import.meta.url), join(ROOT, "package-lock.json")]) {
    hash
      .update(file)
      .update("\0")
      .update(await readFile(file))
      .update("\0");
  }
  return hash.update(env.GOOGLE_CLIENT_ID ?? "").digest("hex");
}

/** Builds `outDir` unless the build there was made from exactly the current inputs (what `./run.sh` does). */
export async function buildWebIfStale(outDir: string): Promise<BuiltWeb | undefined> {
  const stamp = `${outDir}.inputs`;
  const wanted = await inputsHash();
  if (existsSync(join(outDir, "index.html")) && existsSync(stamp) && (await readFile(stamp, "utf8")) === wanted) return undefined;
  const built = await buildWeb({ outDir });
  await writeFile(stamp, wanted);
  return built;
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function describeWeb(built: BuiltWeb): string {
  return `  web        JavaScript ${kib(built.jsBytes)} (gzipped ${kib(built.jsGzipBytes)} of ${kib(JS_BUDGET_GZIP_BYTES)}), CSS gzipped ${kib(built.cssGzipBytes)}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { outdir: { type: "string", default: join(ROOT, "dist/web") }, "if-stale": { type: "boolean" } },
  });
  const outDir = resolve(values.outdir);
  const built = values["if-stale"] ? await buildWebIfStale(outDir) : await buildWeb({ outDir });
  if (built) console.log(`web client built into ${outDir}:\n${describeWeb(built)}`);
}
