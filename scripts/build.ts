/**
 * `npm run build`: one esbuild bundle per Lambda function, laid out for the SAM templates
 * (their `CodeUri`s point straight at these directories, so `sam build` is not needed):
 *
 *   dist/api/          index.mjs (+ .map, chunks/), run.sh — API server under the Lambda Web Adapter
 *   dist/synthesis/    index.mjs (+ .map)          — handler `index.handler`
 *   dist/image/        index.mjs (+ .map)
 *   dist/sweeper/      index.mjs (+ .map)
 *   dist/lifecycle/    index.mjs (+ .map)          — deletion jobs
 *   dist/edge-auth/    index.mjs (+ .map)          — viewer-request function (us-east-1 stack)
 *   dist/generated/edge-auth-config.mjs            — what was baked into the edge bundle
 *   dist/web/          index.html, assets/, config.json — the web client for the SPA bucket (scripts/build-web.ts)
 *
 * The edge bundle needs `EDGE_JWT_PUBLIC_KEY` (SPKI PEM) and takes `JWT_ISSUER`/`JWT_AUDIENCE`
 * (defaults as the API's), `BODY_LIMIT_BYTES` and `JWT_TTL_SECONDS` (the API's settings); without the key it is skipped. An entry whose source file does not
 * exist yet is skipped with a warning too, so the build never blocks on unfinished work.
 *
 * Usage: node --import tsx scripts/build.ts [--outdir DIR] [--only api,edge-auth,web]
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { loadConfig } from "../backend/config.ts";
import { edgeAuthConfigFromEnv, renderBakedConfig } from "../infrastructure/edge-auth/config.ts";
import { buildWeb, describeWeb } from "./build-web.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface Bundle {
  name: string;
  entry: string;
  /** esbuild target: the Lambda runtime's Node version. */
  target: string;
}

/** Lambda@Edge runs nodejs22.x at newest (see infrastructure/edge-auth/template.yaml). */
export const EDGE_TARGET = "node22";
export const BUNDLES: readonly Bundle[] = [
  { name: "api", entry: "backend/main.ts", target: "node24" },
  { name: "synthesis", entry: "backend/workers/synthesis.ts", target: "node24" },
  { name: "image", entry: "backend/workers/image.ts", target: "node24" },
  { name: "sweeper", entry: "backend/workers/sweeper.ts", target: "node24" },
  { name: "lifecycle", entry: "backend/workers/lifecycle.ts", target: "node24" },
  { name: "edge-auth", entry: "infrastructure/edge-auth/handler.ts", target: EDGE_TARGET },
];
/** Lambda@Edge's limit for viewer-request functions: 1 MB, zipped. */
export const EDGE_LIMIT_BYTES = 1024 * 1024;

/**
 * The bundles are ESM; CommonJS dependencies that `require()` node built-ins need a real
 * `require`, which ESM does not have.
 */
const REQUIRE_BANNER = 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);';

/**
 * The Lambda Web Adapter runs the function's handler as a program. `exec`, so Lambda's
 * SIGTERM reaches node (graceful shutdown); the path is taken from the script's own location
 * because the bundle directory is the task root, whatever the working directory.
 */
const RUN_SH = `#!/bin/sh
exec node --enable-source-maps "$(dirname "$0")/index.mjs"
`;

export interface BuiltBundle {
  name: string;
  dir: string;
  /** Code (index.mjs and any chunks), source maps, and all of it gzipped (about its zip size). */
  bytes: number;
  mapBytes: number;
  gzipBytes: number;
  /**
   * Repository-relative paths of the source modules with code in the bundle (esbuild's
   * metafile; lazy chunks included): what the function can run. The settings check in
   * test/deployed-settings.test.ts reads it.
   */
  modules: string[];
}

export interface BuildOptions {
  outDir: string;
  bundles?: readonly Bundle[];
  env?: Record<string, string | undefined>;
  warn?: (message: string) => void;
}

export async function build({ outDir, bundles = BUNDLES, env = process.env, warn = console.warn }: BuildOptions): Promise<BuiltBundle[]> {
  const built: BuiltBundle[] = [];
  for (const bundle of bundles) {
    const dir = join(outDir, bundle.name);
    // A stale bundle must never be deployed in place of one that failed or was skipped.
    await rm(dir, { recursive: true, force: true });
    if (!existsSync(join(ROOT, bundle.entry))) {
      warn(`[build] skipping ${bundle.name}: ${bundle.entry} does not exist yet`);
      continue;
    }
    const plugins: esbuild.Plugin[] = [zodEnglishOnly()];
    if (bundle.name === "edge-auth") {
      const api = loadConfig(env);
      // The API's own reading of the environment: the edge refuses exactly the bodies and tokens it would.
      const config = edgeAuthConfigFromEnv(env, {
        issuer: api.jwtIssuer,
        audience: api.jwtAudience,
        bodyLimitBytes: api.bodyLimitBytes,
        tokenTtlSeconds: api.jwtTtlSeconds,
      });
      if (!config) {
        warn("[build] skipping edge-auth: set EDGE_JWT_PUBLIC_KEY (SPKI PEM of the JWT public key) to build it");
        continue;
      }
      const generated = join(outDir, "generated", "edge-auth-config.mjs");
      await mkdir(dirname(generated), { recursive: true });
      await writeFile(generated, renderBakedConfig(config));
      plugins.push(bakedConfigFrom(generated));
    }
    const result = await esbuild.build({
      // Metafile paths are then relative to the repository, whatever the working directory.
      absWorkingDir: ROOT,
      metafile: true,
      entryPoints: { index: join(ROOT, bundle.entry) },
      outdir: dir,
      outExtension: { ".js": ".mjs" },
      // A dynamic `import()` (say, a provider SDK only needed with an API key) becomes a
      // chunk loaded when first used, not at cold start.
      splitting: true,
      chunkNames: "chunks/[name]-[hash]",
      bundle: true,
      platform: "node",
      format: "esm",
      target: bundle.target,
      // ESM entry points of dependencies tree-shake; CommonJS ones do not.
      mainFields: ["module", "main"],
      minify: true,
      treeShaking: true,
      // Error names and stack frames stay readable in the logs.
      keepNames: true,
      sourcemap: true,
      // Stack traces need the mappings, not the sources: keeps the maps (and the edge zip) small.
      sourcesContent: false,
      legalComments: "none",
      banner: { js: REQUIRE_BANNER },
      plugins,
      logLevel: "warning",
    });
    if (bundle.name === "api") {
      await writeFile(join(dir, "run.sh"), RUN_SH);
      await chmod(join(dir, "run.sh"), 0o755);
    }
    built.push({ ...(await measure(bundle.name, dir)), modules: modulesOf(result.metafile) });
  }
  const edge = built.find((b) => b.name === "edge-auth");
  if (edge && edge.gzipBytes >= EDGE_LIMIT_BYTES) {
    throw new Error(`edge-auth is ${edge.gzipBytes} bytes zipped, over Lambda@Edge's viewer-request limit`);
  }
  return built;
}

/**
 * zod's `z` namespace re-exports all its locales (about 260 KiB minified, a quarter of the
 * API bundle, all parsed at cold start). We only use English, zod's default, which zod loads
 * from `locales/en.js` directly; `z.locales` keeps just `en`.
 */
function zodEnglishOnly(): esbuild.Plugin {
  return {
    name: "zod-english-only",
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[\\/]zod[\\/]v4[\\/]/.test(args.importer)
          ? { path: join(dirname(args.importer), "../locales"), namespace: "zod-locales" }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
        contents: 'export { default as en } from "./en.js";',
        resolveDir: args.path,
        loader: "js",
      }));
    },
  };
}

/** Swaps the handler's `./baked-config.ts` placeholder for the generated module. */
function bakedConfigFrom(generated: string): esbuild.Plugin {
  return {
    name: "baked-edge-config",
    setup(b) {
      b.onResolve({ filter: /[\\/]baked-config\.ts$|^\.\/baked-config\.ts$/ }, () => ({ path: generated }));
    },
  };
}

/** Inputs that put code into some output: a module tree-shaken away entirely is not run. */
function modulesOf(metafile: esbuild.Metafile): string[] {
  const used = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) if (input.bytesInOutput > 0) used.add(path);
  }
  return [...used].sort();
}

async function measure(name: string, dir: string): Promise<Omit<BuiltBundle, "modules">> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".mjs") || f.endsWith(".map"));
  const contents = await Promise.all(files.map((f) => readFile(join(dir, f))));
  const total = (suffix: string) => contents.filter((_, i) => files[i]!.endsWith(suffix)).reduce((n, c) => n + c.length, 0);
  const runSh = existsSync(join(dir, "run.sh")) ? (await stat(join(dir, "run.sh"))).size : 0;
  return { name, dir, bytes: total(".mjs"), mapBytes: total(".map"), gzipBytes: gzipSync(Buffer.concat(contents)).length + runSh };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { outdir: { type: "string", default: join(ROOT, "dist") }, only: { type: "string" } } });
  const outDir = resolve(values.outdir);
  const only = values.only?.split(",").map((name) => name.trim());
  const unknown = only?.filter((name) => name !== "web" && !BUNDLES.some((b) => b.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown bundle(s): ${unknown.join(", ")}`);
  const built = await build({ outDir, bundles: BUNDLES.filter((b) => !only || only.includes(b.name)) });
  const web = !only || only.includes("web") ? await buildWeb({ outDir: join(outDir, "web") }) : undefined;
  console.log(`bundles in ${outDir}:`);
  for (const b of built) {
    console.log(
      `  ${b.name.padEnd(10)} code ${kb(b.bytes).padStart(10)}   maps ${kb(b.mapBytes).padStart(10)}   gzipped ${kb(b.gzipBytes).padStart(10)}`,
    );
  }
  if (web) console.log(describeWeb(web));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
