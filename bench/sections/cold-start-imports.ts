/**
 * Section 5's import-timing table: what each dependency (and each layer of our own code)
 * costs to load in a fresh process, and whether the API loads it at start-up or on first
 * use (a route group's first request loads its handlers, the contract and the domains:
 * api/handlers/index.ts). Each row is a small bundle built like the API's (scripts/build.ts
 * `build()`), whose entry imports just that dependency the way our code does; it is imported
 * in a fresh process, interleaved with an empty one, and the medians are compared. Rows
 * overlap (the contract includes zod), so they do not add up to the API bundle: they say
 * where to look next.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";
import { bytes, median, num, ratio, table } from "../lib/stats.ts";

export interface Probe {
  readyAt: number;
  cpuMs: number;
}

/** Entries relative to `.data/bench/cold-start/` (inside the repository, so they resolve its node_modules). */
const ENTRIES: { name: string; when: string; code: string }[] = [
  {
    name: "zod (the `z` namespace)",
    when: "first request of a route group",
    code: 'import { z } from "zod";\nexport const probe = z.object({ ok: z.boolean() });',
  },
  { name: "Powertools logger (backend/log.ts)", when: "start-up", code: 'export { logger } from "../../../backend/log.ts";' },
  {
    name: "metrics port (ports/metrics.ts, with the logger)",
    when: "start-up",
    code: 'export { metricsFor } from "../../../backend/ports/metrics.ts";',
  },
  {
    name: "jose (sign-in and tokens)",
    when: "first request of a route group",
    code: 'export { SignJWT, errors, importPKCS8, importSPKI, jwtVerify, createRemoteJWKSet } from "jose";',
  },
  {
    name: "HTTP core (backend/api/app.ts, node adapter)",
    when: "start-up",
    code: 'export * from "../../../backend/api/app.ts";\nexport * from "../../../backend/api/adapters/node.ts";',
  },
  {
    name: "API contract (zod schemas of every route)",
    when: "first request of a route group",
    code: 'export * from "../../../backend/api/contract/index.ts";',
  },
  {
    name: "domains (backend/compose.ts, no SDK)",
    when: "first request of a route group",
    code: 'export * from "../../../backend/compose.ts";',
  },
  {
    name: "AWS SDK: DynamoDB (data/documents.ts)",
    when: "first table request",
    code: 'export * from "../../../backend/data/documents.ts";',
  },
  { name: "AWS SDK: SQS", when: "first persona start", code: 'export { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";' },
  { name: "Gemini SDK (backend/ai/gemini.ts)", when: "first model call", code: 'export * from "../../../backend/ai/gemini.ts";' },
  {
    name: "OpenAPI generator (contract/openapi.ts)",
    when: "first GET /openapi.json",
    code: 'export * from "../../../backend/api/contract/openapi.ts";',
  },
];

const DIR = ".data/bench/cold-start";

/**
 * Builds the probe bundles into `outDir`, runs each `runs` times interleaved with the empty
 * process (`probe(undefined)`), and returns the markdown table.
 */
export async function importTimings(
  outDir: string,
  runs: number,
  probe: (file: string | undefined) => Promise<Probe>,
): Promise<{ table: string; commands: string[] }> {
  await mkdir(DIR, { recursive: true });
  try {
    const bundles = await Promise.all(
      ENTRIES.map(async (entry, i) => {
        const file = join(DIR, `probe-${i}.ts`);
        await writeFile(file, `${entry.code}\n`);
        return { name: `probe-${i}`, entry: file, target: "node24" };
      }),
    );
    const built = await build({ outDir, bundles });
    const files = built.map((b) => join(b.dir, "index.mjs"));
    const results = new Map<string | undefined, Probe[]>();
    for (let run = 0; run < runs; run++) {
      for (const file of [undefined, ...files]) results.set(file, [...(results.get(file) ?? []), await probe(file)]);
    }
    const med = (file: string | undefined, pick: (p: Probe) => number) => median((results.get(file) ?? []).map(pick));
    const empty = { ready: med(undefined, (p) => p.readyAt), cpu: med(undefined, (p) => p.cpuMs) };
    const rows = ENTRIES.map((entry, i) => {
      const ready = med(files[i], (p) => p.readyAt);
      const cpu = med(files[i], (p) => p.cpuMs);
      return [
        entry.name,
        entry.when,
        bytes(built[i]?.bytes),
        `${num(ready - empty.ready)} ms`,
        `${num(cpu - empty.cpu)} ms`,
        ratio(cpu, empty.cpu),
      ];
    });
    return {
      table: table(
        ["imported alone", "the API loads it at", "code (lazy chunks included)", "ready − empty", "CPU − empty", "CPU × empty"],
        rows,
        ["l", "l", "r", "r", "r", "r"],
      ),
      commands: ENTRIES.map((entry, i) => `node bench/clients/load-module.mjs file://<tmp>/probe-${i}/index.mjs   # ${entry.name}`),
    };
  } finally {
    await rm(DIR, { recursive: true, force: true });
  }
}
