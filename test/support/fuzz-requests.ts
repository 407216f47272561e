/**
 * Generated requests for the API, built from the real route table (so a new route is fuzzed
 * the day it is added): methods, paths (valid, with real and hostile ids, mutated, encoded,
 * unknown), query strings, headers (identities good and forged), and bodies (valid ones per
 * route from its contract schema, each field mutated, wrong types, extra fields, deep nesting, huge strings, invalid
 * UTF-8, truncated JSON).
 */
import fc from "fast-check";
import type { Route } from "../../backend/api/framework.ts";
import { z } from "zod";
import { type Operation, operations } from "../../backend/api/contract/index.ts";
import { arbitraryFor, type JsonSchema } from "./json-schema-arbitrary.ts";

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The route pattern it was aimed at, when it kept that route's method. */
  route?: string;
}

/** Real ids the requests may name, made by the fuzz stack before the run. */
export interface FuzzWorld {
  owner: string;
  surveyId: string;
  personaId: string;
  chatId: string;
  messageId: string;
}

const HOSTILE_IDS = [
  "a".repeat(3_000),
  "x%23y",
  "%00",
  "a%2Fb",
  "..",
  "%E0%A4%A",
  "café",
  "'; DROP TABLE x; --",
  "<script>",
  "%F0%9F%98%80",
  "PK",
  "USER#victim",
  " ",
];

/** The kind of id a parameter names, from the literal segment before it. */
function kindOf(segments: string[], index: number): "survey" | "persona" | "chat" | "message" | "other" {
  const before = segments[index - 1] ?? "";
  if (before === "surveys") return "survey";
  if (before === "personas" || before === "chemistry") return "persona";
  if (before === "chats") return "chat";
  if (before === "messages") return "message";
  return "other";
}

function idFor(world: FuzzWorld, kind: ReturnType<typeof kindOf>): fc.Arbitrary<string> {
  const real = { survey: world.surveyId, persona: world.personaId, chat: world.chatId, message: world.messageId, other: "x" }[kind];
  const shaped = {
    survey: fc.base64String({ minLength: 24, maxLength: 24 }).map((s) => s.slice(0, 22).replace(/\+/g, "-").replace(/\//g, "_")),
    persona: fc.constantFrom("me", "AAAAAAAAAAAAAAAA"),
    chat: fc.constant("0000000000000AAAAAAAA"),
    message: fc.constant("0000000000000BBBBBBBB"),
    other: fc.constant("x"),
  }[kind];
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(real) },
    { weight: 2, arbitrary: shaped },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_IDS) },
    fc.string({ maxLength: 40 }).map(encodeURIComponent),
  );
}

/** A path for `route`: its params filled with real, well-shaped or hostile ids; sometimes mutated. */
export function pathFor(route: Route, world: FuzzWorld): fc.Arbitrary<string> {
  const segments = route.path.split("/");
  const filled = fc
    .tuple(...segments.map((s, i) => (s.startsWith(":") ? idFor(world, kindOf(segments, i)) : fc.constant(s))))
    .map((parts) => parts.join("/"));
  return fc.oneof(
    { weight: 6, arbitrary: filled },
    { weight: 1, arbitrary: filled.map((p) => `/api${p}`) },
    { weight: 1, arbitrary: filled.map((p) => `${p}/`) },
    { weight: 1, arbitrary: filled.map((p) => p.replace(/\//g, "//")) },
    { weight: 1, arbitrary: fc.tuple(filled, fc.string({ maxLength: 20 })).map(([p, extra]) => `${p}/${encodeURIComponent(extra)}`) },
  );
}

// TRACE and CONNECT cannot be sent by fetch; the raw-socket suite covers CONNECT.
const anyMethod = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND");

const queryString = fc.oneof(
  fc.constant(""),
  fc
    .array(
      fc.tuple(
        fc.constantFrom("limit", "cursor", "direction", "after", "before", "format", "blurb", "x", "limit[]"),
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.integer().map(String),
          fc.constantFrom("0", "-1", "101", "1e3", "null", "chara_card_v3", "older", "newer"),
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")}`),
  fc.string({ maxLength: 40 }).map((raw) => `?${raw.replace(/#/g, "")}`),
);

/** Who the request claims to be (local mode trusts x-user-uid; the rest must be refused cleanly). */
function identity(world: FuzzWorld): fc.Arbitrary<Record<string, string>> {
  const fixed: Record<string, string>[] = [
    { "x-user-uid": "a#b" },
    { "x-user-uid": "" },
    { "x-user-uid": "x".repeat(400) },
    { "x-user-name": "%E0%A4%A", "x-user-uid": world.owner },
    { authorization: "Bearer nope" },
    { authorization: "Basic dXNlcjpwYXNz" },
    { "x-remirai-token": "forged", "x-user-uid": "victim" },
  ];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<Record<string, string>>({ "x-user-uid": world.owner }) },
    { weight: 2, arbitrary: fc.constant<Record<string, string>>({}) },
    fc.uuid().map((u): Record<string, string> => ({ "x-user-uid": `fuzz-${u}` })),
    fc.constantFrom(...fixed),
  );
}

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "application/vnd.api+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
);

/** The contract's operation for a route of routes.ts (same method and path pattern). */
export function operationOf(route: Route): Operation | undefined {
  return operations.find((op) => op.method === route.method && op.path === route.path);
}

const bodySchemas = new Map<Operation, JsonSchema>();

/**
 * Bodies shaped as the operation's contract says (input form), with real ids where a body
 * names one; a route without a body gets another route's, which it must refuse cleanly.
 */
export function validBody(op: Operation | undefined, world: FuzzWorld): fc.Arbitrary<unknown> {
  if (!op?.body) return fc.oneof(...operations.filter((o) => o.body).map((o) => validBody(o, world)));
  let schema = bodySchemas.get(op);
  if (!schema) bodySchemas.set(op, (schema = z.toJSONSchema(op.body, { io: "input" }) as JsonSchema));
  return arbitraryFor(schema, { persona_id: idFor(world, "persona") });
}

function jsonValue(): fc.Arbitrary<unknown> {
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.double(),
      fc.integer(),
      fc.string({ maxLength: 20 }),
      fc.array(tie("value"), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 3 }),
    ),
  })).value;
}

/** A field of `body` replaced by something else (another type, a huge string, a deep value). */
function mutate(body: unknown): fc.Arbitrary<unknown> {
  if (typeof body !== "object" || body === null) return jsonValue();
  const keys = Object.keys(body);
  const replacement = fc.oneof(
    jsonValue(),
    fc.constant("x".repeat(70_000)),
    fc.constant(JSON.parse(`${"[".repeat(400)}${"]".repeat(400)}`)),
    fc.constantFrom(-1, 1e308, Number.MAX_SAFE_INTEGER, "", "\u0000", "\u202e", "💥".repeat(500)),
  );
  return fc.oneof(
    fc.tuple(fc.constantFrom(...(keys.length ? keys : ["x"])), replacement).map(([key, value]) => ({ ...body, [key]: value })),
    fc.tuple(fc.string({ maxLength: 10 }), jsonValue()).map(([key, value]) => ({ ...body, [key]: value })),
  );
}

function bodyFor(world: FuzzWorld, op: Operation | undefined): fc.Arbitrary<string | Buffer | undefined> {
  const valid = validBody(op, world);
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((b) => JSON.stringify(b)) },
    { weight: 4, arbitrary: valid.chain(mutate).map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: jsonValue().map((v) => JSON.stringify(v) ?? "null") },
    { weight: 1, arbitrary: valid.map((b) => JSON.stringify(b).slice(0, -3)) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 200 })
        .map((bytes) => Buffer.concat([Buffer.from('{"text":"'), Buffer.from(bytes), Buffer.from('"}')])),
    },
    { weight: 1, arbitrary: fc.constant(`{"a":${"[".repeat(5_000)}${"]".repeat(5_000)}}`) },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "null", "[]", '"x"', "{", "\u0000") },
  );
}

/** A request aimed at one of `routes` (mostly) or somewhere else. */
export function requests(routes: Route[], world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const aimed = fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      method: fc.oneof({ weight: 5, arbitrary: fc.constant(route.method) }, anyMethod),
      path: fc.tuple(pathFor(route, world), queryString).map(([p, q]) => p + q),
      identity: identity(world),
      contentType: fc.option(contentType, { nil: undefined, freq: 5 }),
      accept: fc.option(fc.constantFrom("text/event-stream", "application/json", "*/*", "text/html"), { nil: undefined }),
      requestId: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.constant("x".repeat(200))), { nil: undefined, freq: 4 }),
      body: bodyFor(world, operationOf(route)),
    }),
  );
  const stray = fc.record({
    route: fc.constant(undefined),
    method: anyMethod,
    path: fc.oneof(
      fc.webPath(),
      fc.string({ maxLength: 60 }).map((s) => `/${encodeURIComponent(s)}`),
      fc.constantFrom("/", "/v1", "/api", "/v1/", "/api/v1/x", "/%", "/v1/surveys/%zz"),
    ),
    identity: identity(world),
    contentType: fc.option(contentType, { nil: undefined }),
    accept: fc.constant(undefined),
    requestId: fc.constant(undefined),
    body: bodyFor(world, undefined),
  });
  return fc.oneof({ weight: 9, arbitrary: aimed }, { weight: 1, arbitrary: stray }).map((r) => {
    const headers: Record<string, string> = { ...r.identity };
    if (r.contentType !== undefined) headers["content-type"] = r.contentType;
    if (r.accept !== undefined) headers.accept = r.accept;
    // Header values must be bytes a client can send; keep to printable ASCII.
    if (r.requestId !== undefined) headers["x-request-id"] = r.requestId.replace(/[^\x20-\x7e]/g, "");
    const bodyless = r.method === "GET" || r.method === "HEAD";
    return {
      method: r.method,
      path: r.path,
      headers,
      ...(bodyless || r.body === undefined ? {} : { body: r.body }),
      ...(r.route && r.route.method === r.method ? { route: r.route.path } : {}),
    };
  });
}
