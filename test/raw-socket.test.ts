/**
 * What only raw bytes can do to the production app on node:http (what `./run.sh` serves and
 * the Lambda Web Adapter talks to): garbage, slow and partial heads, framing that lies,
 * bodies cut short. Whatever arrives, the answer is a JSON error (or nothing, when the client
 * is gone), nothing is stored from a request that never completed, and the server keeps
 * serving. A property feeds it arbitrary bytes; named cases pin the shapes a fuzzer found.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { serve, type RunningServer } from "../backend/api/adapters/node.ts";
import { createApi } from "../backend/api/index.ts";
import { loadConfig } from "../backend/config.ts";
import { checkProperty } from "./support/fuzz.ts";
import { parseResponses, rawRequest, type RawResponse } from "./support/raw-http.ts";
import { friendAnswer, quiet } from "./support/saga.ts";

const HEADERS_TIMEOUT_MS = 400;
let server: RunningServer;
let surveyId: string;

before(async () => {
  const config = loadConfig({ ...process.env, AUTH_MODE: "local", GEMINI_API_KEY: "" });
  server = await serve(createApi(config, { logger: quiet }), {
    port: 0,
    host: "127.0.0.1",
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    requestTimeoutMs: 2_000,
  });
  const created = await fetch(`${server.url}/v1/surveys`, { method: "POST", headers: { "x-user-uid": `raw-${randomUUID()}` } });
  surveyId = ((await created.json()) as { survey_id: string }).survey_id;
});
after(() => server.close(0));

const port = () => Number(new URL(server.url).port);

/** Writes `parts` (a pause of `gapMs` between them), ends the client side, returns what came back until close. */
function exchange(parts: (string | Uint8Array)[], gapMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port(), "127.0.0.1", async () => {
      for (const [i, part] of parts.entries()) {
        if (socket.destroyed) break;
        socket.write(part);
        if (gapMs > 0 && i < parts.length - 1) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (!socket.destroyed) socket.end();
    });
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    socket.on("close", () => resolve(received));
    socket.on("error", (error: NodeJS.ErrnoException) =>
      error.code === "ECONNRESET" || error.code === "EPIPE" ? resolve(received) : reject(error),
    );
  });
}

/** Every response an error is the API's JSON error shape. */
function assertJsonErrors(responses: RawResponse[], context: string): void {
  for (const res of responses) {
    if (res.status < 400) continue;
    assert.match(res.headers["content-type"] ?? "", /^application\/json/, `${context}: ${res.status} is JSON`);
    const body = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
    assert.equal(typeof body.error?.code, "string", `${context}: error.code`);
    assert.equal(typeof body.error?.message, "string", `${context}: error.message`);
  }
}

async function alive(): Promise<void> {
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, "the server still answers");
}

describe("raw bytes at the node adapter", () => {
  test("a head trickled in slower than the allowance gets a JSON 408, and nothing else waits on it", async () => {
    const head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    const trickle = Array.from({ length: 40 }, () => "a");
    const answer = parseResponses(await exchange([head, ...trickle, "\r\n\r\n"], 25));
    assert.deepEqual(
      answer.map((r) => r.status),
      [408],
    );
    assertJsonErrors(answer, "slow head");
    await alive();
  });

  test("a head that never ends, then the client leaves: no answer owed, the server keeps serving", async () => {
    const answer = await exchange(["GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half"]);
    assertJsonErrors(parseResponses(answer), "half head");
    await alive();
  });

  test("a chunked answer cut off mid-body stores nothing", async () => {
    const body = JSON.stringify(friendAnswer(`raw-${randomUUID()}`));
    const head = `POST /v1/surveys/${surveyId}/responses HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const before = await fetch(`${server.url}/v1/surveys/${surveyId}`).then((r) => r.status);
    await exchange([head, `${(body.length >> 1).toString(16)}\r\n${body.slice(0, body.length >> 1)}\r\n`]);
    assert.equal(before, 200);
    // The same device's answer, sent whole now, is its first: the cut one was never stored.
    const whole = await fetch(`${server.url}/v1/surveys/${surveyId}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(whole.status, 201);
    await alive();
  });

  test("framing that lies — two lengths, a length beside chunked, a bad chunk size — is a JSON 400 and the connection closes", async () => {
    const cases = [
      "POST /v1/surveys HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
      "POST /v1/surveys HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      "POST /v1/surveys HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    ];
    for (const bytes of cases) {
      const answer = parseResponses(await rawRequest(server.url, bytes));
      assert.deepEqual(
        answer.map((r) => r.status),
        [400],
        JSON.stringify(bytes),
      );
      assertJsonErrors(answer, JSON.stringify(bytes));
    }
    await alive();
  });

  test("an HTTP/1.1 request without Host is a JSON 400 (found by the byte fuzzer: node's own 400 had no body)", async () => {
    const answer = parseResponses(await rawRequest(server.url, "GET / HTTP/1.1\r\n\r\n"));
    assert.deepEqual(
      answer.map((r) => r.status),
      [400],
    );
    assertJsonErrors(answer, "no Host");
    assert.equal(JSON.parse(answer[0]!.body).error.code, "missing_host");
    const http10 = parseResponses(await rawRequest(server.url, "GET /healthz HTTP/1.0\r\n\r\n"));
    assert.equal(http10[0]?.status, 200, "HTTP/1.0 needs no Host");
    await alive();
  });

  test("a head larger than the server takes is a JSON 431", async () => {
    const answer = parseResponses(await rawRequest(server.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`));
    assert.deepEqual(
      answer.map((r) => r.status),
      [431],
    );
    assertJsonErrors(answer, "431");
    await alive();
  });

  test("arbitrary bytes: every answer is a JSON error or a success, and the server keeps serving", async () => {
    const requestLine = fc.constantFrom(
      "GET / HTTP/1.1\r\n",
      "POST /v1/surveys HTTP/1.1\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\n",
      "PRI * HTTP/2.0\r\n",
      "",
    );
    const noise = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ unit: "binary", maxLength: 300 }).map((s) => Buffer.from(s, "latin1")),
      fc
        .array(fc.constantFrom("\r\n", "\n", ":", " ", "Host: x", "Content-Length: 3", "Transfer-Encoding: chunked", "0\r\n\r\n", "{}"), {
          maxLength: 20,
        })
        .map((parts) => Buffer.from(parts.join(""))),
    );
    await checkProperty(
      fc.asyncProperty(requestLine, noise, fc.boolean(), async (line, bytes, terminate) => {
        const raw = await exchange([line, bytes, ...(terminate ? ["\r\n\r\n"] : [])]);
        assertJsonErrors(parseResponses(raw), JSON.stringify(line) + JSON.stringify(Buffer.from(bytes).toString("latin1").slice(0, 80)));
        await alive();
      }),
      200,
    );
  });
});
