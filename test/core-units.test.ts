/** Unit-level rules of the router, the SSE framer and the Lambda event sniffing. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventShape } from "../backend/api/adapters/lambda-event.ts";
import { BadRequest } from "../backend/api/errors.ts";
import { Router, stripApiPrefix } from "../backend/api/router.ts";
import { formatComment, formatEvent, InvalidEventField } from "../backend/api/sse.ts";
import { loadConfig } from "../backend/config.ts";

describe("router", () => {
  const router = new Router<string>();
  router.add("GET", "/v1/personas/me", "me");
  router.add("GET", "/v1/personas/:id", "by-id");
  router.add("GET", "/v1/personas/:a/chemistry/:b", "chemistry");
  router.add("POST", "/v1/personas/me", "start");

  test("a static path wins over a pattern of the same shape", () => {
    const match = router.match("GET", "/v1/personas/me");
    assert.equal(match.kind === "found" && match.value, "me");
  });

  test("several params in one pattern", () => {
    assert.deepEqual(router.match("GET", "/v1/personas/x/chemistry/y"), {
      kind: "found",
      value: "chemistry",
      params: { a: "x", b: "y" },
      pattern: "/v1/personas/:a/chemistry/:b",
    });
  });

  test("an empty segment never fills a param", () => {
    assert.equal(router.match("GET", "/v1/personas/").kind, "none");
    assert.equal(router.match("GET", "/v1//chemistry/y").kind, "none");
  });

  test("only a whole /api segment is stripped", () => {
    assert.equal(stripApiPrefix("/api"), "/");
    assert.equal(stripApiPrefix("/api/v1/x"), "/v1/x");
    assert.equal(stripApiPrefix("/apis/v1/x"), "/apis/v1/x");
  });

  test("percent-encoded literals match their route; bad encodings are a 400", () => {
    assert.equal(router.match("GET", "/v1/person%61s/me").kind, "found");
    assert.throws(() => router.match("GET", "/v1/personas/%ZZ"), BadRequest);
  });

  test("duplicate routes are refused when the table is built", () => {
    assert.throws(() => router.add("GET", "/v1/personas/me", "again"), /Duplicate route/);
  });

  test("allowed() lists methods for OPTIONS, with HEAD implied by GET", () => {
    assert.deepEqual(router.allowed("/v1/personas/me"), ["GET", "HEAD", "OPTIONS", "POST"]);
    assert.equal(router.allowed("/v1/unknown"), undefined);
  });
});

describe("SSE framing", () => {
  test("JSON data, and strings split on every line ending", () => {
    assert.equal(formatEvent({ data: { a: "x\ny" } }), 'data: {"a":"x\\ny"}\n\n');
    assert.equal(formatEvent({ data: "a\r\nb\rc\nd" }), "data: a\ndata: b\ndata: c\ndata: d\n\n");
    assert.equal(formatEvent({ data: "" }), "data: \n\n");
    assert.equal(formatEvent({ data: { text: "line\r\nbreak\u2028" } }), 'data: {"text":"line\\r\\nbreak\u2028"}\n\n');
  });

  test('data that JSON cannot carry is refused, not sent as "undefined"', () => {
    for (const bad of [() => 1, Symbol("s")]) assert.throws(() => formatEvent({ data: bad }), InvalidEventField);
  });

  test("event and id refuse CR, LF and NUL", () => {
    for (const bad of ["a\nb", "a\rb", "a\u0000b"]) {
      assert.throws(() => formatEvent({ event: bad, data: "x" }), InvalidEventField);
      assert.throws(() => formatEvent({ id: bad, data: "x" }), InvalidEventField);
    }
  });

  test("retry must be a non-negative integer", () => {
    assert.equal(formatEvent({ retry: 3000 }), "retry: 3000\n\n");
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) assert.throws(() => formatEvent({ retry: bad }), InvalidEventField);
  });

  test("comments are prefixed line by line", () => {
    assert.equal(formatComment("a\nb"), ": a\n: b\n\n");
    assert.equal(formatComment(), ":\n\n");
  });
});

describe("Lambda event shapes", () => {
  test("2.0 (Function URL / HTTP API), 1.0 (REST API), anything else refused", () => {
    assert.equal(eventShape({ version: "2.0", requestContext: { http: { method: "GET" } } }), "v2");
    assert.equal(eventShape({ httpMethod: "GET", path: "/", requestContext: {} }), "v1");
    assert.throws(() => eventShape({ Records: [] }), TypeError);
    assert.throws(() => eventShape(null), TypeError);
  });
});

describe("configuration", () => {
  test("defaults, and numbers that are not numbers are refused at start-up", () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.bodyLimitBytes, 40000);
    assert.equal(config.sseHeartbeatMs, 15000);
    assert.equal(config.sseMaxLifeMs, 240000);
    assert.equal(config.sseFlushPaddingBytes, 0);
    assert.deepEqual(config.corsOrigins, ["*"]);
    assert.throws(() => loadConfig({ PORT: "eighty" }), /PORT must be a non-negative integer/);
  });

  test("a body limit the edge cannot hash, or one a full chat message does not fit in, is refused", () => {
    assert.throws(() => loadConfig({ AUTH_MODE: "edge", BODY_LIMIT_BYTES: "40001" }), /more than CloudFront's edge can hash/);
    assert.equal(loadConfig({ AUTH_MODE: "local", BODY_LIMIT_BYTES: "65536" }).bodyLimitBytes, 65536);
    assert.throws(
      () => loadConfig({ CHAT_MESSAGE_MAX_CHARS: "7000" }),
      /CHAT_MESSAGE_MAX_CHARS=7000 can need more than BODY_LIMIT_BYTES=40000/,
    );
  });
});
