/**
 * The contract, checked on every response the suites receive from our API: status
 * documented, required headers present, content type documented, the JSON body valid
 * against its schema (unknown fields fail: every object is closed), and every SSE event's
 * data valid against its event's schema — all against docs/openapi.json, the committed
 * document (test/contract.test.ts holds it equal to what the code generates). A response
 * that breaks it throws a `ContractViolation` in the test that received it.
 *
 * Where the check sits (support/contract-watch.ts): the node target registers its origin
 * with `watch`, and every `fetch` of the test process to a watched origin is checked (so
 * tests that fetch `target.url` themselves are covered too); the Function URL and API Gateway
 * targets, which have no socket, check what they return with `checkedChunks`. A test app (the behaviour suite's `/v1/things`)
 * is watched in `test-app` mode: requests to paths the document does not have are its own
 * business and skipped; documented paths are still checked.
 *
 * Each test process counts what it checked and appends the count to CONTRACT_COUNT_FILE
 * (global setup names it; global teardown prints the total).
 */
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { createParser } from "eventsource-parser";
import { stripApiPrefix } from "../../backend/api/router.ts";

export const DOCUMENT_PATH = join(import.meta.dirname, "../../docs/openapi.json");
const DOC_ID = "https://contract.remirai.invalid/openapi.json";

export class ContractViolation extends Error {
  override name = "ContractViolation";
}

/**
 * What an origin serves. `api`: only the production API, so an undocumented path must be the
 * router's 404. `with-web`: the API and the web client (./run.sh serves both on one origin):
 * paths outside the API's (`/api/…`, `/v1/…`) are the web client's and skipped. `test-app`: an
 * app of the tests' own; paths the document does not have are skipped.
 */
export type ContractMode = "api" | "with-web" | "test-app";

const API_SPACE = /^\/(api|v1)(\/|$)/;

export interface ResponseHead {
  method: string;
  /** Path and query, as requested. */
  path: string;
  /** The platform decoded the path before the app saw it (an HTTP API). */
  platformDecoded?: boolean;
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

export interface SentEvent {
  event: string;
  id?: string;
  data: unknown;
}

/** The checks left once the head passed: the body, or each event of a stream. */
export interface ResponseCheck {
  readonly streaming: boolean;
  /** Bytes the document gives only a media type (an image): nothing of the body to check, and it must not be decoded as text. */
  readonly bytes: boolean;
  body(text: string): void;
  event(event: SentEvent): void;
}

type Json = Record<string, any>;

const pointerPart = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
const mediaType = (value: string | string[] | undefined) =>
  String(value ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();

export class Contract {
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #templates: { template: string; segments: string[]; item: Json }[];
  readonly counts = { responses: 0, events: 0 };

  constructor(readonly document: Json) {
    this.#ajv = new Ajv2020({ allErrors: true, strict: true });
    // The document's own keywords are no schema's business: the validators reach into it by pointer.
    this.#ajv.addVocabulary(["openapi", "info", "servers", "tags", "paths", "components", "x-auth"]);
    this.#ajv.addFormat("date-time", { validate: (s: string) => !Number.isNaN(Date.parse(s)) });
    this.#ajv.addFormat("uri", { validate: (s: string) => URL.canParse(s) });
    this.#ajv.addFormat("email", { validate: (s: string) => /^[^@\s]+@[^@\s]+$/.test(s) });
    this.#ajv.addSchema(document, DOC_ID);
    this.#templates = Object.entries(document.paths as Json)
      .map(([template, item]) => ({ template, segments: template.split("/"), item: item as Json }))
      // Literal paths first, as the router does: /v1/personas/me before /v1/personas/{persona_id}/…
      .sort((a, b) => Number(a.template.includes("{")) - Number(b.template.includes("{")));
  }

  #validate(pointer: string, value: unknown, what: string): void {
    let validate = this.#validators.get(pointer);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
      this.#validators.set(pointer, validate);
    }
    if (!validate(value)) {
      const errors = this.#ajv.errorsText(validate.errors, { dataVar: what, separator: "; " });
      throw new ContractViolation(`${errors}\n  in: ${JSON.stringify(value).slice(0, 600)}\n  against: docs/openapi.json#${pointer}`);
    }
  }

  /**
   * The document's path item for a request path, with its template; `invalid` for a bad
   * percent-encoding. As the router does: each segment decoded on its own, so a parameter may
   * hold a `/` sent as `%2F`. `platformDecoded`: an HTTP API decoded the whole path before the
   * app saw it (a bad encoding then arrives as it was sent, and is only an odd id).
   */
  locate(path: string, platformDecoded = false): { template: string; item: Json } | "invalid" | undefined {
    const stripped = stripApiPrefix(path.split("?")[0]!);
    let segments: string[];
    try {
      segments = platformDecoded ? decodedOrRaw(stripped).split("/") : stripped.split("/").map((s) => decodeURIComponent(s));
    } catch {
      return "invalid";
    }
    return this.#templates.find(
      (t) =>
        t.segments.length === segments.length &&
        t.segments.every((want, i) => (want.startsWith("{") ? segments[i] !== "" : want === segments[i])),
    );
  }

  /** Checks status, headers and content type; returns what is left to check, or undefined when skipped. */
  begin(head: ResponseHead, mode: ContractMode = "api"): ResponseCheck | undefined {
    const method = head.method.toUpperCase();
    const headers = Object.fromEntries(Object.entries(head.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const where = `${method} ${head.path} → ${head.status}`;
    const fail = (message: string): never => {
      throw new ContractViolation(`${where}: ${message}`);
    };
    const found = this.locate(head.path, head.platformDecoded);
    const unknown = found === undefined || found === "invalid";
    if (unknown && (mode === "test-app" || (mode === "with-web" && !API_SPACE.test(head.path)))) return undefined;
    this.counts.responses++;
    const routing = (status: number) => {
      if (head.status !== status) fail(`the router answers ${status} here`);
      return this.#check(where, "/components/schemas/RoutingError", { content: { "application/json": {} } }, headers, method);
    };
    if (found === "invalid") return routing(400);
    if (found === undefined) return routing(404);
    const methods = Object.keys(found.item).map((m) => m.toUpperCase());
    const allow = [...new Set([...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"])].sort().join(", ");
    if (method === "OPTIONS") {
      if (head.status !== 204) fail("OPTIONS answers 204");
      if (headers.allow !== allow) fail(`Allow is ${String(headers.allow)}, the document says ${allow}`);
      return this.#check(where, "", {}, headers, method);
    }
    const operation = found.item[method === "HEAD" ? "get" : method.toLowerCase()];
    if (!operation) {
      if (headers.allow !== allow) fail(`Allow is ${String(headers.allow)}, the document says ${allow}`);
      return routing(405);
    }
    const pointer = `/paths/${pointerPart(found.template)}/${method === "HEAD" ? "get" : method.toLowerCase()}/responses/${head.status}`;
    const response = operation.responses[String(head.status)];
    if (!response) fail(`status ${head.status} is not documented for ${operation.operationId}`);
    for (const [name, header] of Object.entries((response.headers ?? {}) as Json)) {
      const value = headers[name.toLowerCase()];
      if (header.required && value === undefined) fail(`header ${name} is missing`);
      if (value !== undefined) this.#validate(`${pointer}/headers/${pointerPart(name)}/schema`, value, `header ${name}`);
    }
    return this.#check(where, pointer, response, headers, method);
  }

  #check(where: string, pointer: string, response: Json, headers: Json, method: string): ResponseCheck {
    const types = Object.keys(response.content ?? {});
    const type = mediaType(headers["content-type"]);
    const bodyless = method === "HEAD" || types.length === 0;
    if (!bodyless && !types.includes(type)) {
      throw new ContractViolation(`${where}: content type ${type || "(none)"} is not documented (${types.join(", ")})`);
    }
    const schemaAt = (t: string) => (pointer.startsWith("/components") ? pointer : `${pointer}/content/${pointerPart(t)}/schema`);
    const counts = this.counts;
    // A documented media type without a schema is bytes (OpenAPI 3.1's way to say binary).
    const bytes = !bodyless && !pointer.startsWith("/components") && response.content[type]?.schema === undefined;
    const validate = (at: string, value: unknown, what: string) => {
      try {
        this.#validate(at, value, what);
      } catch (error) {
        throw new ContractViolation(`${where}: ${(error as Error).message}`);
      }
    };
    return {
      streaming: !bodyless && type === "text/event-stream",
      bytes,
      body(text) {
        if (bytes) return;
        if (bodyless) {
          if (text !== "") throw new ContractViolation(`${where}: a body where the document has none`);
          return;
        }
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new ContractViolation(`${where}: the body is not JSON: ${text.slice(0, 200)}`);
        }
        validate(schemaAt(type), json, "body");
      },
      event(event) {
        counts.events++;
        validate(`${schemaAt("text/event-stream")}/items`, event, `event ${event.event}`);
      },
    };
  }
}

let shared: Contract | undefined;

/** The contract of docs/openapi.json, loaded once per test process. */
export function contract(): Contract {
  if (!shared) {
    shared = new Contract(JSON.parse(readFileSync(DOCUMENT_PATH, "utf8")));
    const file = process.env.CONTRACT_COUNT_FILE;
    const counts = shared.counts;
    if (file) process.once("exit", () => counts.responses > 0 && appendFileSync(file, `${counts.responses} ${counts.events}\n`));
  }
  return shared;
}

/** Parses an event stream as it passes, checking each event; throws the first violation. */
export function eventChecker(check: ResponseCheck): (text: string) => void {
  let failure: unknown;
  const parser = createParser({
    onEvent(e) {
      if (failure) return;
      try {
        let data: unknown;
        try {
          data = JSON.parse(e.data);
        } catch {
          throw new ContractViolation(`event ${e.event ?? "message"}: data is not JSON: ${e.data.slice(0, 200)}`);
        }
        check.event({ event: e.event ?? "message", ...(e.id !== undefined ? { id: e.id } : {}), data });
      } catch (error) {
        failure = error;
      }
    },
  });
  return (text) => {
    parser.feed(text);
    if (failure) throw failure;
  };
}

function decodedOrRaw(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
