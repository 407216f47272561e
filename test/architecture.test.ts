/**
 * The layering the code relies on, checked on the source itself:
 * - in a domain folder, only its store modules (`store.ts`, and `<part>-store.ts` when one
 *   would grow too long) talk to DynamoDB (the SDK, the Document client, the key builders);
 *   rule modules call the store in the product's words;
 * - no file outside data/keys.ts writes a key string (`USER#…`, `CHAT#…`);
 * - the HTTP core (backend/api, but its handlers and routes) knows no domain.
 * Each rule is also run on a planted violation, so a check that matches nothing is caught.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";

const ROOT = join(import.meta.dirname, "..");
const DOMAINS = ["identity", "surveys", "personas", "chats", "social", "lifecycle"];
const HTTP_CORE = [
  "backend/api/app.ts",
  "backend/api/router.ts",
  "backend/api/framework.ts",
  "backend/api/sse.ts",
  "backend/api/http.ts",
  "backend/api/errors.ts",
  "backend/api/body-stream.ts",
  "backend/api/adapters",
];

interface Source {
  path: string;
  text: string;
}

function sources(dir: string): Source[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => {
      const path = relative(ROOT, join(ROOT, dir, name));
      return { path, text: readFileSync(join(ROOT, path), "utf8") };
    });
}

/** Imports of a module, as written (`import … from "x"`, `import("x")`), type-only ones marked. */
function importsOf(text: string): { from: string; names: string; typeOnly: boolean }[] {
  const found = [...text.matchAll(/import\s+(type\s+)?([^;]*?)\s+from\s+"([^"]+)"/g)].map((m) => ({
    from: m[3]!,
    names: m[2]!,
    typeOnly: m[1] !== undefined,
  }));
  for (const m of text.matchAll(/import\("([^"]+)"\)/g)) found.push({ from: m[1]!, names: "*", typeOnly: false });
  return found;
}

/** The text without comments, so prose about keys (`USER#<uid>`) does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const TABLE_ACCESS = /^@aws-sdk\/(lib-dynamodb|client-dynamodb|util-dynamodb)$/;

/** A domain module other than its store reaching the table itself. */
export function storeViolations(files: Source[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (!DOMAINS.some((d) => file.path.startsWith(`backend/${d}/`)) || /\/([a-z]+-)?store\.ts$/.test(file.path)) continue;
    for (const imp of importsOf(file.text)) {
      if (TABLE_ACCESS.test(imp.from)) out.push(`${file.path} imports ${imp.from}`);
      if (imp.from.endsWith("data/keys.ts")) out.push(`${file.path} builds keys (imports data/keys.ts)`);
      if (imp.from.endsWith("data/documents.ts")) out.push(`${file.path} imports the Document client (data/documents.ts)`);
      if (
        imp.from.endsWith("data/table.ts") &&
        !imp.typeOnly &&
        /\b(documentClient|cancellationReasons|isConditionFailed)\b/.test(imp.names)
      ) {
        out.push(`${file.path} imports ${imp.names.trim()} from data/table.ts`);
      }
    }
  }
  return out;
}

const KEY_STRING = /["'`](USER|SURVEY|CHAT|MSG|PERSONA|PERSONA_EVENT|PERSONA_CHAT|RATE|SAGA|ANSWER|ROUND|WINDOW|JOB|JOBS|REVOKED)#/;

/** A key string written anywhere but data/keys.ts. */
export function keyViolations(files: Source[]): string[] {
  return files
    .filter((f) => f.path !== "backend/data/keys.ts" && KEY_STRING.test(code(f.text)))
    .map((f) => `${f.path} writes a key string`);
}

/** The HTTP core importing anything of the product. */
export function coreViolations(files: Source[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (!HTTP_CORE.some((core) => file.path === core || file.path.startsWith(`${core}/`))) continue;
    for (const imp of importsOf(file.text)) {
      if (
        /^\.\.?\//.test(imp.from) &&
        /\.\.\/(\.\.\/)?(identity|surveys|personas|chats|social|lifecycle|data|ai|compose|config)\b/.test(imp.from)
      ) {
        out.push(`${file.path} imports ${imp.from}`);
      }
    }
  }
  return out;
}

const backend = sources("backend");

describe("layers", () => {
  test("in a domain folder only its store modules reach DynamoDB or build keys", () => {
    assert.deepEqual(storeViolations(backend), []);
  });

  test("no key string outside data/keys.ts", () => {
    assert.deepEqual(keyViolations(backend), []);
  });

  test("the HTTP core knows no domain", () => {
    assert.deepEqual(coreViolations(backend), []);
  });
});

describe("the checks catch a planted violation", () => {
  test("a rule module with the Document client, keys, or a table helper", () => {
    const planted: Source[] = [
      { path: "backend/chats/chats.ts", text: 'import { GetCommand } from "@aws-sdk/lib-dynamodb";' },
      { path: "backend/personas/saga.ts", text: 'import { keys } from "../data/keys.ts";' },
      { path: "backend/surveys/surveys.ts", text: 'import { cancellationReasons, type Table } from "../data/table.ts";' },
      { path: "backend/social/chemistry.ts", text: 'import { documentClient } from "../data/documents.ts";' },
      // Allowed: the store (or a part of it), and a type-only import of the port.
      { path: "backend/chats/store.ts", text: 'import { keys } from "../data/keys.ts";' },
      { path: "backend/chats/lifecycle-store.ts", text: 'import { keys } from "../data/keys.ts";' },
      { path: "backend/chats/restore.ts", text: 'import { keys } from "../data/keys.ts";' },
      { path: "backend/social/social.ts", text: 'import type { Table } from "../data/table.ts";' },
    ];
    assert.equal(storeViolations(planted).length, 5, "restore.ts is no store");
  });

  test("a key string in code (not in a comment)", () => {
    const planted: Source[] = [
      { path: "backend/personas/sweeper.ts", text: "const uid = pk.slice(`USER#`.length);" },
      { path: "backend/chats/store.ts", text: "/** lives under `USER#uid/CHAT#id` */\nconst x = 1; // CHAT#id" },
    ];
    assert.deepEqual(keyViolations(planted), ["backend/personas/sweeper.ts writes a key string"]);
  });

  test("the HTTP core importing a domain", () => {
    const planted: Source[] = [{ path: "backend/api/app.ts", text: 'import { surveysOn } from "../surveys/surveys.ts";' }];
    assert.equal(coreViolations(planted).length, 1);
  });
});
