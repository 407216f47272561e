/**
 * Section 5: cold start. The production bundles are built (scripts/build.ts, into a temp
 * directory) and measured; then each bundle is imported in a fresh node process, ten times,
 * interleaved with an empty process (the same probe importing nothing), and the medians are
 * compared. The API bundle's import includes its start-up: config, routes, and listening on
 * a port (its entry is the server process the Lambda Web Adapter starts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateSecrets } from "../../backend/local/secrets.ts";
import { build, EDGE_LIMIT_BYTES, type BuiltBundle } from "../../scripts/build.ts";
import { importTimings } from "./cold-start-imports.ts";
import { ofType, startNode } from "../lib/processes.ts";
import type { SectionResult, SummaryRow } from "../lib/report.ts";
import { bytes, median, num, ratio, table, verdict } from "../lib/stats.ts";

const TITLE = "5. Cold start";
const RUNS = 10;
/** Issue 18: import-and-listen within 2.5× an empty node process. */
const TARGET = 2.5;

interface Loaded {
  startedAt: number;
  importMs: number;
  readyAt: number;
  /** User + system CPU time of the process when ready. */
  cpuMs: number;
}

async function probe(file: string | undefined, env: Record<string, string>): Promise<Loaded & { wallMs: number }> {
  const t0 = performance.now();
  const child = startNode("load-module", "bench/clients/load-module.mjs", file ? [pathToFileURL(file).href] : [], { tsx: false, env });
  try {
    const loaded = await child.message(ofType<Loaded>("loaded"), 30_000);
    await child.exited;
    return { ...loaded, wallMs: performance.now() - t0 };
  } finally {
    await child.stop("SIGKILL");
  }
}

export async function coldStartSection(): Promise<SectionResult> {
  const outDir = await mkdtemp(join(tmpdir(), "remirai-bench-build-"));
  try {
    const t0 = performance.now();
    const built = await build({
      outDir,
      env: { ...process.env, EDGE_JWT_PUBLIC_KEY: generateSecrets().JWT_PUBLIC_KEY },
      warn: (m) => console.log(`  ${m}`),
    });
    const buildSeconds = (performance.now() - t0) / 1000;
    const api = built.find((b) => b.name === "api");
    const env = {
      PORT: "0",
      HOST: "127.0.0.1",
      AUTH_MODE: "local",
      AWS_REGION: "us-east-1",
      TABLE_NAME: "bench-cold",
      POWERTOOLS_LOG_LEVEL: "WARN",
    };
    const targets: { name: string; file?: string }[] = [
      { name: "empty node process" },
      ...built.filter((b) => b.name !== "edge-auth").map((b) => ({ name: `${b.name} bundle`, file: join(b.dir, "index.mjs") })),
    ];
    const runs = new Map<string, (Loaded & { wallMs: number })[]>();
    for (let i = 0; i < RUNS; i++) {
      for (const target of targets) {
        const result = await probe(target.file, env);
        runs.set(target.name, [...(runs.get(target.name) ?? []), result]);
      }
    }
    const med = (name: string, pick: (r: Loaded & { wallMs: number }) => number) => median((runs.get(name) ?? []).map(pick));
    const empty = {
      ready: med("empty node process", (r) => r.readyAt),
      wall: med("empty node process", (r) => r.wallMs),
      cpu: med("empty node process", (r) => r.cpuMs),
    };
    const loadRows = targets.map((t) => {
      const ready = med(t.name, (r) => r.readyAt);
      const wall = med(t.name, (r) => r.wallMs);
      return [
        t.name,
        `${num(med(t.name, (r) => r.startedAt))} ms`,
        t.file ? `${num(med(t.name, (r) => r.importMs))} ms` : "—",
        `${num(ready)} ms`,
        ratio(ready, empty.ready),
        `${num(med(t.name, (r) => r.cpuMs))} ms`,
        ratio(
          med(t.name, (r) => r.cpuMs),
          empty.cpu,
        ),
        `${num(wall)} ms`,
        ratio(wall, empty.wall),
      ];
    });
    const sizeRows = built.map((b: BuiltBundle) => [
      b.name,
      bytes(b.bytes),
      ratio(b.bytes, api?.bytes),
      bytes(b.mapBytes),
      bytes(b.gzipBytes),
      ratio(b.gzipBytes, b.bytes + b.mapBytes),
      b.name === "edge-auth" ? `${ratio(b.gzipBytes, EDGE_LIMIT_BYTES)} of Lambda@Edge's 1 MB` : "",
    ]);
    const apiReady = med("api bundle", (r) => r.readyAt);
    const apiCpu = med("api bundle", (r) => r.cpuMs);
    const imports = await importTimings(join(outDir, "probes"), RUNS, (file) => probe(file, env));
    const summary: SummaryRow[] = [
      {
        section: TITLE,
        metric: "API bundle size (code / gzipped with maps)",
        value: `${bytes(api?.bytes)} / ${bytes(api?.gzipBytes)}`,
        ratio: built
          .filter((b) => b.name !== "api")
          .map((b) => `${b.name} ${ratio(b.bytes, api?.bytes)}`)
          .join(", "),
        target: "(reported)",
        verdict: "",
      },
      {
        section: TITLE,
        metric: `API bundle: process start → imported and listening (median of ${RUNS})`,
        value: `${num(apiReady)} ms (import ${num(med("api bundle", (r) => r.importMs))} ms; CPU ${num(apiCpu)} ms)`,
        ratio: `${ratio(apiReady, empty.ready)} an empty node process (${num(empty.ready)} ms); CPU ${ratio(apiCpu, empty.cpu)}`,
        target: `≤ ${TARGET.toFixed(2)}× an empty node process`,
        verdict: verdict(apiReady / empty.ready, TARGET, { atMost: true }),
      },
    ];
    const body = [
      `\`npm run build\`'s bundles (scripts/build.ts \`build()\`: esbuild, ESM, minified, code splitting, English-only zod), built into a ` +
        `temporary directory in ${num(buildSeconds, 1)} s (the edge bundle with a throwaway public key). "gzipped" is code and maps ` +
        "together, about what the deployment zip weighs.",
      "",
      table(["bundle", "code (.mjs, chunks included)", "× api", "source maps", "gzipped", "× raw", "limit"], sizeRows),
      "",
      `Module load in a fresh process (\`node bench/clients/load-module.mjs <bundle>/index.mjs\`, ${RUNS} runs each, interleaved, medians). ` +
        '"code starts" is when the probe\'s first line ran (node\'s own start-up), "import" the `await import()` of the bundle, "ready" both ' +
        '(all three from the process\'s time origin, measured inside it); "spawn → exit" is the wall time seen from outside, exit included. ' +
        "The API bundle's import starts the server (config, routes, listening on a free port); the workers' only load their handlers. " +
        "Ratios are to the empty process. (The Lambda Web Adapter then polls the port; Lambda's own init is not in these numbers.)",
      "",
      table(["process", "code starts", "import", "ready", "× empty", "CPU when ready", "× empty", "spawn → exit", "× empty"], loadRows),
      "",
      "What each dependency costs to load, and when the API loads it (a route group's handlers, the contract, the domains, zod and " +
        "jose with the first request of a group; the AWS SDK, the Gemini SDK and the OpenAPI generator with the first request that " +
        'needs them: docs/decisions.md "Performance round two (issue 18)"). Each row is a bundle ' +
        `built the same way whose entry imports only that dependency, imported in a fresh process (${RUNS} runs each, interleaved with ` +
        "the empty process, medians). Rows overlap: the contract and the domains include zod, the domains the logger and jose.",
      "",
      imports.table,
    ].join("\n");
    return {
      title: TITLE,
      body,
      summary,
      commands: [
        `node --import tsx scripts/build.ts --outdir <tmp>   # same build() call, in the benchmark's process`,
        "node bench/clients/load-module.mjs                    # empty",
        ...targets
          .filter((t) => t.file)
          .map((t) => `node bench/clients/load-module.mjs file://<tmp>/${t.name.replace(" bundle", "")}/index.mjs`),
        ...imports.commands,
      ],
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
