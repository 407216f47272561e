/**
 * One behaviour suite, run unchanged against every adapter: node:http on a real port, the
 * Function URL streaming handler, and API Gateway 1.0 / 2.0 events.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { BODY_LIMIT_BYTES, behaviourApp, CONSTANT_REPLY, hooksFor, type LogLine } from "./support/behaviour-app.ts";
import { apiGatewayTarget, functionUrlTarget, nodeTarget, type Target } from "./support/targets.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Streaming tests await events; one that never comes fails the test instead of hanging it. */
const HANG = { timeout: 10_000 };

/** The suite's own app: its routes are not the API's, so the contract check skips them (support/contract.ts). */
const TEST_APP = { contract: "test-app" } as const;

const adapters: { name: string; make: (app: ReturnType<typeof behaviourApp>["app"]) => Promise<Target> | Target }[] = [
  { name: "node:http", make: (app) => nodeTarget(app, TEST_APP) },
  { name: "function-url", make: (app) => functionUrlTarget(app, TEST_APP) },
  { name: "api-gateway-1.0", make: (app) => apiGatewayTarget(app, "1.0", TEST_APP) },
  { name: "api-gateway-2.0", make: (app) => apiGatewayTarget(app, "2.0", TEST_APP) },
];

function json(body: string): any {
  return JSON.parse(body);
}

function parseEvents(body: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  createParser({ onEvent: (e) => events.push(e) }).feed(body);
  return events;
}

/** JSON of exactly `bytes` bytes. */
const jsonOfSize = (bytes: number) => JSON.stringify({ text: "x".repeat(bytes - '{"text":""}'.length) });

/** Reads streamed text until `predicate` holds, returning everything read so far. */
async function readUntil(chunks: AsyncIterator<string>, predicate: (text: string) => boolean): Promise<string> {
  let text = "";
  while (!predicate(text)) {
    const next = await chunks.next();
    if (next.done) break;
    text += next.value;
  }
  return text;
}

for (const adapter of adapters) {
  describe(`HTTP behaviour through ${adapter.name}`, () => {
    let target: Target;
    let logs: LogLine[];

    before(async () => {
      const built = behaviourApp();
      logs = built.logs;
      target = await adapter.make(built.app);
    });
    after(() => target.close());

    describe("routing", () => {
      test("matches a pattern and percent-decodes its params and query", async () => {
        const res = await target.request("/v1/things/caf%C3%A9%20bar?q=a%20b");
        assert.equal(res.status, 200);
        assert.deepEqual(json(res.body), { id: "café bar", q: "a b" });
        assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
        assert.equal(res.headers["cache-control"], "no-store");
      });

      test("a handler's reply is its own: a shared constant answers every request, each with its own request id", async () => {
        const first = await target.request("/v1/constant", { headers: { "x-request-id": "first-1", origin: "https://a.example" } });
        const second = await target.request("/v1/constant", { headers: { "x-request-id": "second-2" } });
        assert.deepEqual([first.status, second.status], [200, 200]);
        assert.deepEqual([first.headers["x-request-id"], second.headers["x-request-id"]], ["first-1", "second-2"]);
        assert.equal(second.headers["access-control-allow-origin"], undefined, "no CORS header left over from the first request");
        assert.deepEqual(Object.keys(CONSTANT_REPLY.headers), ["content-type", "cache-control"]);
      });

      test("serves the same route with the /api prefix", async () => {
        const res = await target.request("/api/v1/things/7/parts/wheel");
        assert.equal(res.status, 200);
        assert.deepEqual(json(res.body), { id: "7", part: "wheel" });
      });

      test("an encoded slash stays inside its parameter (where the platform keeps it encoded)", async () => {
        const res = await target.request("/v1/things/a%2Fb");
        if (target.decodesPath) {
          // An HTTP API decodes %2F before the event: /v1/things/a/b is another (unknown) path.
          assert.equal(res.status, 404);
        } else {
          assert.equal(res.status, 200);
          assert.equal(json(res.body).id, "a/b");
        }
      });

      test("a literal % in a parameter arrives decoded exactly once", async () => {
        const res = await target.request("/v1/things/100%25%20sure");
        assert.equal(res.status, 200);
        assert.equal(json(res.body).id, "100% sure");
      });

      test("unknown path → 404 JSON error carrying the request id", async () => {
        const res = await target.request("/v1/nothing-here");
        assert.equal(res.status, 404);
        const { error } = json(res.body);
        assert.equal(error.code, "not_found");
        assert.equal(error.request_id, res.headers["x-request-id"]);
        assert.match(String(res.headers["x-request-id"]), UUID);
      });

      test("known path, wrong method → 405 with Allow", async () => {
        const res = await target.request("/v1/things/1", { method: "PUT" });
        assert.equal(res.status, 405);
        assert.equal(res.headers.allow, "DELETE, GET, HEAD, OPTIONS");
        assert.equal(json(res.body).error.code, "method_not_allowed");
      });

      test("invalid percent-encoding in the path → 400 JSON (or literal text, once a platform decoded the path)", async () => {
        const res = await target.request("/v1/things/%E0%A4%A");
        if (target.decodesPath) {
          // What an HTTP API forwards for a sequence it cannot decode is its own text: never decoded again.
          assert.equal(res.status, 200);
          assert.equal(json(res.body).id, "%E0%A4%A");
        } else {
          assert.equal(res.status, 400);
          assert.equal(json(res.body).error.code, "invalid_path");
        }
      });

      test("HEAD answers like GET without a body", async () => {
        const get = await target.request("/v1/things/1");
        const head = await target.request("/v1/things/1", { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal(head.body, "");
        assert.equal(head.headers["content-length"], String(Buffer.byteLength(get.body)));
      });
    });

    describe("request id", () => {
      test("a well-formed x-request-id is echoed", async () => {
        const res = await target.request("/v1/things/1", { headers: { "x-request-id": "trace-42.a:b" } });
        assert.equal(res.headers["x-request-id"], "trace-42.a:b");
      });

      test("a malformed x-request-id is replaced, never echoed", async () => {
        const res = await target.request("/v1/conflict", { headers: { "x-request-id": "evil value\tinjected" } });
        assert.match(String(res.headers["x-request-id"]), UUID);
        assert.equal(json(res.body).error.request_id, res.headers["x-request-id"]);
      });
    });

    describe("JSON bodies", () => {
      const jsonHeaders = { "content-type": "application/json" };

      test("a valid JSON body is parsed", async () => {
        const res = await target.request("/v1/things", { method: "POST", headers: jsonHeaders, body: '{"name":"Mira"}' });
        assert.equal(res.status, 201);
        assert.deepEqual(json(res.body), { received: { name: "Mira" } });
      });

      test("malformed JSON → 400 invalid_json", async () => {
        const res = await target.request("/v1/things", { method: "POST", headers: jsonHeaders, body: '{"name":' });
        assert.equal(res.status, 400);
        assert.equal(json(res.body).error.code, "invalid_json");
      });

      test("an empty body → 400 invalid_json", async () => {
        const res = await target.request("/v1/things", { method: "POST", headers: jsonHeaders, body: "" });
        assert.equal(res.status, 400);
        assert.equal(json(res.body).error.code, "invalid_json");
      });

      test("invalid UTF-8 → 400 invalid_json", async () => {
        const body = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
        const res = await target.request("/v1/things", { method: "POST", headers: jsonHeaders, body });
        assert.equal(res.status, 400);
        assert.equal(json(res.body).error.code, "invalid_json");
      });

      test("wrong content type → 415", async () => {
        for (const type of ["text/plain", "application/json; charset=latin1"]) {
          const res = await target.request("/v1/things", { method: "POST", headers: { "content-type": type }, body: "{}" });
          assert.equal(res.status, 415, type);
          assert.equal(json(res.body).error.code, "unsupported_media_type");
        }
      });

      test("a body of exactly the limit is accepted; one byte more → 413 (the edge's number too)", async () => {
        // Prepare
        const [fits, over] = [jsonOfSize(BODY_LIMIT_BYTES), jsonOfSize(BODY_LIMIT_BYTES + 1)];
        // Act
        const accepted = await target.request("/v1/things", { method: "POST", headers: jsonHeaders, body: fits });
        const refused = await target.request("/v1/things", { method: "POST", headers: jsonHeaders, body: over });
        // Assess
        assert.equal(BODY_LIMIT_BYTES, 40_000);
        assert.equal(accepted.status, 201);
        assert.equal(json(accepted.body).received.text.length, BODY_LIMIT_BYTES - '{"text":""}'.length);
        assert.equal(refused.status, 413);
        assert.equal(json(refused.body).error.message, `The request body exceeds ${BODY_LIMIT_BYTES} bytes`);
      });

      test("a 1 MiB body → 413, and the server keeps serving", async () => {
        const big = JSON.stringify({ blob: "x".repeat(1024 * 1024) });
        const res = await target.request("/v1/things", { method: "POST", headers: jsonHeaders, body: big });
        assert.equal(res.status, 413);
        assert.equal(json(res.body).error.code, "payload_too_large");
        const next = await target.request("/v1/things/after");
        assert.equal(next.status, 200);
      });
    });

    describe("errors", () => {
      test("an HttpError keeps its status, code and message", async () => {
        const res = await target.request("/v1/conflict");
        assert.equal(res.status, 409);
        assert.deepEqual(json(res.body), {
          error: { code: "conflict", message: "Already there", request_id: res.headers["x-request-id"] },
        });
      });

      test("429 carries Retry-After", async () => {
        const res = await target.request("/v1/limited");
        assert.equal(res.status, 429);
        assert.equal(res.headers["retry-after"], "30");
      });

      test("an unexpected error → 500 that leaks neither message nor stack", async () => {
        const res = await target.request("/v1/boom");
        assert.equal(res.status, 500);
        assert.equal(json(res.body).error.code, "internal_error");
        assert.equal(json(res.body).error.message, "Internal server error");
        assert.doesNotMatch(res.body, /hunter2|at |\.ts/);
        const logged = logs.find((l) => l.level === "error" && l.attributes.request_id === res.headers["x-request-id"]);
        assert.ok(logged, "the details go to the log instead");
      });
    });

    describe("bodyless responses", () => {
      test("EmptyResponse and noContent → 204 without a body", async () => {
        for (const [path, method] of [
          ["/v1/empty", "GET"],
          ["/v1/things/1", "DELETE"],
        ] as const) {
          const res = await target.request(path, { method });
          assert.equal(res.status, 204, path);
          assert.equal(res.body, "");
        }
      });

      test("a redirect with no body completes with its Location", async () => {
        const res = await target.request("/v1/redirect", { method: "POST" });
        assert.equal(res.status, 302);
        assert.equal(res.headers.location, "/v1/cached");
        assert.equal(res.body, "");
      });
    });

    describe("caching and cookies", () => {
      test("cache headers and ETag; a matching If-None-Match → 304", async () => {
        const res = await target.request("/v1/cached");
        assert.equal(res.headers["cache-control"], "public, max-age=60, s-maxage=300");
        assert.equal(res.headers.etag, '"v1"');
        const again = await target.request("/v1/cached", { headers: { "if-none-match": 'W/"v1"' } });
        assert.equal(again.status, 304);
        assert.equal(again.body, "");
        assert.equal(again.headers.etag, '"v1"');
      });

      test("several Set-Cookie headers survive", async () => {
        const res = await target.request("/v1/cookie");
        assert.deepEqual(res.headers["set-cookie"], ["a=1; Path=/", "b=2; Path=/"]);
      });
    });

    describe("CORS", () => {
      test("preflight on a known path → 204 with the allowed methods", async () => {
        const res = await target.request("/v1/things/1", {
          method: "OPTIONS",
          headers: {
            origin: "https://app.example",
            "access-control-request-method": "DELETE",
            "access-control-request-headers": "content-type, authorization",
          },
        });
        assert.equal(res.status, 204);
        assert.equal(res.headers["access-control-allow-origin"], "*");
        assert.equal(res.headers["access-control-allow-methods"], "DELETE, GET, HEAD, OPTIONS");
        assert.equal(res.headers["access-control-allow-headers"], "content-type, authorization");
        assert.equal(res.headers["access-control-allow-credentials"], undefined);
      });

      test("preflight on an unknown path → 404", async () => {
        const res = await target.request("/v1/nope", {
          method: "OPTIONS",
          headers: { origin: "https://app.example", "access-control-request-method": "GET" },
        });
        assert.equal(res.status, 404);
      });

      test("a simple request from an origin gets the CORS response headers", async () => {
        const res = await target.request("/v1/things/1", { headers: { origin: "https://app.example" } });
        assert.equal(res.headers["access-control-allow-origin"], "*");
        assert.match(String(res.headers["access-control-expose-headers"]), /x-request-id/);
      });
    });

    describe("server-sent events", () => {
      test("headers and exact framing", async () => {
        const res = await target.request("/v1/events?count=2");
        assert.equal(res.status, 200);
        assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
        assert.equal(res.headers["cache-control"], "no-cache, no-transform");
        assert.equal(res.headers["x-accel-buffering"], "no");
        assert.equal(res.body, 'retry: 1500\n\nevent: tick\nid: 1\ndata: {"n":1}\n\nevent: tick\nid: 2\ndata: {"n":2}\n\n');
      });

      test("an exception mid-stream becomes an error event, then the end", async () => {
        const res = await target.request("/v1/events/fail");
        assert.equal(res.status, 200);
        assert.equal(
          res.body,
          'event: tick\ndata: first\n\nevent: error\ndata: {"code":"internal_error","message":"The stream failed"}\n\n',
        );
      });

      test("a lower layer's error mid-stream is the event a reply would have been: same code, its detail only in the log", async () => {
        const lost = await target.request("/v1/events/fail-below?kind=lost");
        const down = await target.request("/v1/events/fail-below?kind=down");
        assert.equal(lost.body, 'event: tick\ndata: first\n\nevent: error\ndata: {"code":"not_found","message":"No such thing"}\n\n');
        assert.equal(
          down.body,
          'event: tick\ndata: first\n\nevent: error\ndata: {"code":"service_unavailable","message":"Try again shortly"}\n\n',
        );
        const failures = logs.filter((l) => l.message === "stream failed").map((l) => JSON.stringify(l.attributes));
        assert.ok(
          failures.some((line) => line.includes("table at 10.0.0.7 timed out")),
          "the 5xx's cause is logged",
        );
        assert.ok(!failures.some((line) => line.includes("thing 7 is gone")), "a 4xx is the client's answer, not an incident");
      });

      test("CR/LF injection through event or id is refused, not written", async () => {
        for (const query of ["event=x%0Aevent%3A%20evil", "id=1%0D%0Adata%3A%20evil", "id=1%00"]) {
          const res = await target.request(`/v1/events/inject?${query}`);
          assert.doesNotMatch(res.body, /evil|payload/, query);
          assert.match(res.body, /^event: error\n/, query);
        }
      });
    });

    describe("a streamed document (not SSE)", () => {
      test("arrives whole, with its own content type and no length announced", async () => {
        const res = await target.request("/v1/document?count=3");
        assert.equal(res.status, 200);
        assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
        assert.equal(res.headers["cache-control"], "no-store");
        assert.deepEqual(JSON.parse(res.body), { parts: [{ n: 1 }, { n: 2 }, { n: 3 }] });
      });

      test("a failure after the first chunk ends the body early (it does not parse) and is logged, its detail never sent", async () => {
        const res = await target.request("/v1/document/fail");
        assert.equal(res.status, 200);
        assert.equal(res.body, '{"parts":[{"n":1}');
        assert.throws(() => JSON.parse(res.body));
        const failures = logs.filter((l) => l.message === "stream failed").map((l) => JSON.stringify(l.attributes));
        assert.ok(failures.some((line) => line.includes("secret internal detail")));
      });
    });

    describe("a stream's maximum life", () => {
      let short: Target;
      before(async () => (short = await adapter.make(behaviourApp({ maxLifeMs: 50 }).app)));
      after(() => short.close());

      test("past it the stream ends; what the producer sends on its way out still arrives", async () => {
        const res = await short.request("/v1/events/expiring");
        assert.equal(res.status, 200);
        assert.equal(res.body, "event: tick\nid: 1\ndata: first\n\nevent: end\ndata: expired\n\n: the stream reached its maximum life\n\n");
      });

      test("a producer that ignores it is cut off; what it writes later goes nowhere", async () => {
        // Prepare
        const hooks = hooksFor(`${adapter.name}-stubborn`);
        // Act
        const res = await short.request(`/v1/events/stubborn?key=${adapter.name}-stubborn`);
        hooks.gate.resolve();
        await hooks.finished.promise;
        // Assess
        assert.equal(res.body, "event: open\ndata: {}\n\n: the stream reached its maximum life\n\n");
      });
    });

    describe("flush padding", () => {
      let padded: Target;
      before(async () => (padded = await adapter.make(behaviourApp({ flushPaddingBytes: 1024 }).app)));
      after(() => padded.close());

      test("each event goes out padded with a comment to the flush size; clients see the same events", async () => {
        const plain = await target.request("/v1/events?count=2");
        const res = await padded.request("/v1/events?count=2");
        assert.equal(Buffer.byteLength(res.body), 3 * 1024);
        assert.match(
          res.body,
          /^retry: 1500\n\n: *\nevent: tick\nid: 1\ndata: \{"n":1\}\n\n: *\nevent: tick\nid: 2\ndata: \{"n":2\}\n\n: *\n$/,
        );
        assert.deepEqual(parseEvents(res.body), parseEvents(plain.body));
        assert.equal(parseEvents(res.body).length, 2);
      });
    });

    describe("logging", () => {
      test("one line per request with method, route pattern, status, duration and request id; no body", async () => {
        const res = await target.request("/v1/things", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer top-secret-token" },
          body: '{"password":"open sesame"}',
        });
        const id = res.headers["x-request-id"];
        const lines = logs.filter((l) => l.attributes.request_id === id && l.message === "request");
        assert.equal(lines.length, 1);
        assert.deepEqual(Object.keys(lines[0]!.attributes).sort(), ["duration_ms", "method", "request_id", "route", "status"]);
        assert.equal(lines[0]!.attributes.route, "/v1/things");
        assert.equal(lines[0]!.attributes.status, 201);
        assert.doesNotMatch(JSON.stringify(logs), /open sesame|top-secret-token/);
      });
    });

    if (adapter.name === "node:http" || adapter.name === "function-url") {
      describe("streaming", () => {
        test("the first event reaches the client before the producer makes the next", HANG, async () => {
          const hooks = hooksFor(`${adapter.name}-gate`);
          const res = await target.open(`/v1/events?count=2&key=${adapter.name}-gate`);
          const chunks = res.chunks[Symbol.asyncIterator]();
          const first = await readUntil(chunks, (t) => t.includes("id: 1\n"));
          assert.match(first, /event: tick\nid: 1\n/);
          assert.doesNotMatch(first, /id: 2/);
          hooks.gate.resolve();
          const rest = await readUntil(chunks, () => false);
          assert.match(rest, /id: 2\n/);
        });

        test("a document's first chunk reaches the client before the producer makes the next", HANG, async () => {
          const hooks = hooksFor(`${adapter.name}-document`);
          const res = await target.open(`/v1/document?count=2&key=${adapter.name}-document`);
          const chunks = res.chunks[Symbol.asyncIterator]();
          const first = await readUntil(chunks, (t) => t.includes('{"n":1}'));
          assert.doesNotMatch(first, /"n":2/);
          hooks.gate.resolve();
          const rest = await readUntil(chunks, () => false);
          assert.match(rest, /\{"n":2\}\]\}$/);
        });

        test("a client that leaves a document stops and closes its producer", HANG, async () => {
          // Prepare: after part 1 the producer waits at a gate the test never opens: only the
          // signal of the client's departure lets it go on.
          const hooks = hooksFor(`${adapter.name}-document-gone`);
          const res = await target.open(`/v1/document?count=5&key=${adapter.name}-document-gone`);
          await readUntil(res.chunks[Symbol.asyncIterator](), (t) => t.includes('{"n":1}'));
          // Act
          res.cancel();
          // Assess: the signal aborted, and the producer was closed at part 2 instead of making 3 to 5.
          await hooks.aborted.promise;
          assert.equal(await hooks.finished.promise, 1);
        });

        test("a client that goes away aborts the producer's signal", HANG, async () => {
          // Prepare: the producer sends event 1 of 5, then waits at a gate the test never
          // opens: only the abort of its signal lets it go on.
          const hooks = hooksFor(`${adapter.name}-abort`);
          const res = await target.open(`/v1/events?count=5&key=${adapter.name}-abort`);
          const chunks = res.chunks[Symbol.asyncIterator]();
          await readUntil(chunks, (t) => t.includes("id: 1\n"));
          // Act
          res.cancel();
          // Assess: the signal aborted (else this waits until the test times out), and the
          // producer stopped there instead of making events 2 to 5 for nobody.
          await hooks.aborted.promise;
          assert.equal(await hooks.finished.promise, 1);
        });
      });
    }
  });
}
