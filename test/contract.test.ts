/**
 * The API document is checked, not trusted: docs/openapi.json is exactly what the contract
 * generates, it is a valid OpenAPI 3.1 document by the official schema (vendored), its
 * schemas compile as JSON Schema 2020-12, it lists every route of routes.ts and nothing
 * else, the API serves it, and the contract module bundles for a browser. The response
 * checks every suite runs (support/contract.ts) are proven here on planted violations.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { build } from "esbuild";
import { parse as parseYaml } from "yaml";
import { ERRORS } from "../backend/api/contract/index.ts";
import { openApiDocument, templateOf } from "../backend/api/contract/openapi.ts";
import { createApi } from "../backend/api/index.ts";
import type { Handlers } from "../backend/api/handlers/index.ts";
import { routes } from "../backend/api/routes.ts";
import { loadConfig } from "../backend/config.ts";
import { Contract, ContractViolation, DOCUMENT_PATH } from "./support/contract.ts";
import { quiet } from "./support/saga.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

const ROOT = join(import.meta.dirname, "..");
const committed = () => JSON.parse(readFileSync(DOCUMENT_PATH, "utf8"));

/**
 * The official OpenAPI 3.1 schema as a validator. Ajv resolves `$dynamicRef` only to a
 * `$dynamicAnchor` at a schema's root; this schema's one anchor (`meta`) sits on
 * `$defs/schema`, and with nothing else in the dynamic scope every `$dynamicRef: "#meta"`
 * means exactly that definition, so it is written as the plain `$ref` it resolves to.
 */
function officialSchema() {
  const text = JSON.stringify(parseYaml(readFileSync(join(ROOT, "vendor/schemas/openapi-3.1.schema.yaml"), "utf8")));
  assert.equal(text.match(/"\$dynamicAnchor"/g)?.length, 1);
  const schema = JSON.parse(text.replaceAll('{"$dynamicRef":"#meta"}', '{"$ref":"#/$defs/schema"}'));
  assert.equal(schema.$defs.schema.$dynamicAnchor, "meta");
  assert.doesNotMatch(JSON.stringify(schema), /\$dynamicRef/);
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  ajv.addFormat("media-range", { validate: (s: string) => /^[\w.+*-]+\/[\w.+*-]+/.test(s) });
  ajv.addFormat("uri-reference", { validate: (s: string) => URL.canParse(s, "https://base.invalid/") });
  ajv.addFormat("uri", { validate: (s: string) => URL.canParse(s) });
  ajv.addFormat("email", { validate: (s: string) => /^[^@\s]+@[^@\s]+$/.test(s) });
  return ajv.compile(schema);
}

describe("docs/openapi.json", () => {
  test("is what the contract generates (npm run openapi rewrites it)", () => {
    assert.deepEqual(committed(), openApiDocument(), "docs/openapi.json is stale: run `npm run openapi` and commit it");
  });

  test("is a valid OpenAPI 3.1 document by the official schema", () => {
    const validate = officialSchema();
    assert.equal(validate(committed()), true, JSON.stringify(validate.errors?.slice(0, 5), null, 2));
  });

  test("the official schema is really applied: a response without a description is an error", () => {
    const broken = committed();
    delete broken.paths["/v1/me"].get.responses["200"].description;
    assert.equal(officialSchema()(broken), false);
  });

  test("every schema in it compiles as JSON Schema 2020-12 (strict), with every $ref resolved", () => {
    const contract = new Contract(committed());
    const doc = contract.document;
    let compiled = 0;
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    ajv.addVocabulary(["openapi", "info", "servers", "tags", "paths", "components", "x-auth"]);
    for (const format of ["date-time", "uri", "email"]) ajv.addFormat(format, true);
    ajv.addSchema(doc, "https://t.invalid/openapi.json");
    const compile = (pointer: string) => {
      ajv.compile({ $ref: `https://t.invalid/openapi.json#${pointer}` });
      compiled++;
    };
    const esc = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
    for (const name of Object.keys(doc.components.schemas)) compile(`/components/schemas/${esc(name)}`);
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const at = `/paths/${esc(path)}/${method}`;
        for (const i of (op.parameters ?? []).keys()) compile(`${at}/parameters/${i}/schema`);
        for (const [status, response] of Object.entries<any>(op.responses)) {
          // A media type without a schema is bytes (an image): nothing to compile.
          for (const [type, media] of Object.entries<any>(response.content ?? {}))
            if (media.schema) compile(`${at}/responses/${status}/content/${esc(type)}/schema`);
        }
      }
    }
    assert.ok(compiled > 150, `${compiled} schemas compiled`);
  });

  test("lists every route of routes.ts, and nothing else", () => {
    // Prepare: the route list with stand-in handlers (only methods and paths matter here).
    const stub = new Proxy({}, { get: () => new Proxy({}, { get: () => () => ({}) }) }) as unknown as Handlers;
    const listed = routes(stub).map((r) => `${r.method} ${templateOf(r.path)}`);
    const documented = Object.entries<any>(committed().paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );

    // Assess
    assert.equal(new Set(listed).size, listed.length, "routes.ts lists a route twice");
    assert.deepEqual([...documented].sort(), [...listed].sort());
  });

  test("every error code is one some route (or the router) can answer with", () => {
    const text = JSON.stringify(committed().paths) + JSON.stringify(committed().components.schemas.RoutingError);
    const unused = Object.keys(ERRORS).filter((code) => !text.includes(`Error_${code}"`));
    assert.deepEqual(unused, []);
  });
});

describe("GET /openapi.json", () => {
  let target: Target;
  before(async () => (target = await nodeTarget(createApi(loadConfig(process.env), { logger: quiet }))));
  after(() => target.close());

  test("serves the committed document, with and without /api, cacheable and revalidated by ETag", async () => {
    // Act
    const plain = await target.request("/openapi.json");
    const prefixed = await target.request("/api/openapi.json");
    const again = await target.request("/openapi.json", { headers: { "if-none-match": String(plain.headers.etag) } });

    // Assess
    assert.equal(plain.status, 200);
    assert.deepEqual(JSON.parse(plain.body), committed());
    assert.equal(prefixed.body, plain.body);
    assert.match(String(plain.headers["cache-control"]), /public, max-age=\d+/);
    assert.equal(again.status, 304);
  });
});

describe("the contract module", () => {
  test("bundles for a browser: zod and zod-only modules, nothing of node", async () => {
    // Act: esbuild for the browser fails on any node import.
    const result = await build({
      entryPoints: ["backend/api/contract/index.ts", "backend/api/contract/openapi.ts"],
      absWorkingDir: ROOT,
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      outdir: "out",
      metafile: true,
      logLevel: "silent",
    });

    // Assess
    assert.deepEqual(result.errors, []);
    const ours = Object.keys(result.metafile.inputs).filter((file) => !file.startsWith("node_modules/"));
    const allowed = /^backend\/(api\/contract\/|data\/ids\.ts$|surveys\/questions\.ts$|identity\/names\.ts$)/;
    assert.deepEqual(
      ours.filter((file) => !allowed.test(file)),
      [],
    );
  });
});

describe("the response check catches a planted violation", () => {
  const contract = new Contract(committed());
  const json = { "content-type": "application/json; charset=utf-8" };
  const chat = {
    chat_id: "0000000000000abcdefgh",
    persona_id: "AAAAAAAAAAAAAAAA",
    read_only: false,
    title: "Chat with Mirai",
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    generating: false,
  };

  test("a body as documented passes", () => {
    const check = contract.begin({ method: "GET", path: "/api/v1/chats?limit=2", status: 200, headers: json });
    assert.doesNotThrow(() => check!.body(JSON.stringify({ chats: [chat], next_cursor: null })));
  });

  test("one unknown field", () => {
    const check = contract.begin({ method: "GET", path: "/v1/chats", status: 200, headers: json });
    assert.throws(() => check!.body(JSON.stringify({ chats: [{ ...chat, id: chat.chat_id }], next_cursor: null })), ContractViolation);
  });

  test("an undocumented status", () => {
    assert.throws(() => contract.begin({ method: "GET", path: "/v1/chats", status: 403, headers: json }), /not documented/);
  });

  test("a 429 without Retry-After", () => {
    assert.throws(() => contract.begin({ method: "POST", path: "/v1/personas/me/chat", status: 429, headers: json }), /Retry-After/);
  });

  test("an error code the route does not document", () => {
    const check = contract.begin({ method: "GET", path: "/v1/me", status: 404, headers: json });
    assert.throws(
      () => check!.body(JSON.stringify({ error: { code: "no_such_thing", message: "x", request_id: "r" } })),
      ContractViolation,
    );
  });

  test("an event the stream does not document, or its data wrong", () => {
    const sse = { "content-type": "text/event-stream; charset=utf-8" };
    const check = contract.begin({ method: "POST", path: "/v1/personas/me/chat", status: 200, headers: sse })!;
    assert.doesNotThrow(() => check.event({ event: "token", id: "2", data: { text: "Hi" } }));
    assert.throws(() => check.event({ event: "tokens", id: "2", data: { text: "Hi" } }), ContractViolation);
    assert.throws(() => check.event({ event: "stored", id: "3", data: { reply_id: "x", status: "complete" } }), ContractViolation);
  });

  test("a content type the route does not document", () => {
    const sse = { "content-type": "text/event-stream; charset=utf-8" };
    assert.throws(() => contract.begin({ method: "GET", path: "/v1/chats", status: 200, headers: sse }), /content type/);
  });

  test("an image: its documented media types are bytes, never decoded or parsed; any other type is a violation", () => {
    const head = (type: string) => ({ method: "GET", path: "/v1/personas/me/portrait", status: 200, headers: { "content-type": type } });
    const png = contract.begin(head("image/png"))!;
    assert.equal(png.bytes, true);
    assert.doesNotThrow(() => png.body("\u0089PNG not JSON at all"));
    assert.throws(() => contract.begin(head("image/gif")), /content type image\/gif is not documented/);
    assert.equal(contract.begin({ method: "GET", path: "/v1/chats", status: 200, headers: json })!.bytes, false);
  });

  test("an undocumented path: a violation from the API, skipped from a test app", () => {
    assert.throws(() => contract.begin({ method: "GET", path: "/v1/things/7", status: 200, headers: json }), /router answers 404/);
    assert.equal(contract.begin({ method: "GET", path: "/v1/things/7", status: 200, headers: json }, "test-app"), undefined);
  });

  test("a wrong method must be the router's 405 with the documented Allow", () => {
    const headers = { ...json, allow: "GET, HEAD, OPTIONS, POST" };
    assert.doesNotThrow(() => contract.begin({ method: "DELETE", path: "/v1/chats", status: 405, headers }));
    assert.throws(() => contract.begin({ method: "DELETE", path: "/v1/chats", status: 405, headers: { ...json, allow: "GET" } }), /Allow/);
  });
});
