/** What only the node:http adapter does: raw HTTP errors, HTTP/1.1 headers, graceful shutdown. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { serve } from "../backend/api/adapters/node.ts";
import { behaviourApp, hooksFor } from "./support/behaviour-app.ts";

function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let received = "";
    socket.on("data", (chunk) => (received += chunk.toString()));
    socket.on("end", () => resolve(received));
    socket.on("error", reject);
  });
}

describe("node:http adapter", () => {
  test("malformed HTTP gets a JSON 400 and the server keeps serving", async () => {
    const server = await serve(behaviourApp().app, { port: 0, host: "127.0.0.1" });
    try {
      const answer = await rawRequest(server.url, "GET /v1/things/1 HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n");
      assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.match(answer, /content-type: application\/json/);
      assert.equal(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).error.code, "bad_request");
      assert.equal((await fetch(`${server.url}/v1/things/1`)).status, 200);
    } finally {
      await server.close(0);
    }
  });

  test("204, 304 and HEAD end at their header block: no chunked framing, the next response follows at once", async () => {
    // Prepare: what the Lambda Web Adapter's HTTP client reads from us, pipelined on one connection
    const server = await serve(behaviourApp().app, { port: 0, host: "127.0.0.1" });
    try {
      const requests = [
        "GET /v1/empty HTTP/1.1\r\nHost: x\r\n\r\n",
        'GET /v1/cached HTTP/1.1\r\nHost: x\r\nIf-None-Match: "v1"\r\n\r\n',
        "HEAD /v1/things/1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/things/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      ];
      // Act
      const answer = await rawRequest(server.url, requests.join(""));
      // Assess
      const responses = answer.split(/(?=HTTP\/1\.1 \d{3} )/);
      assert.deepEqual(responses.map((r) => r.slice(9, 12)), ["204", "304", "200", "200"]);
      for (const bodyless of responses.slice(0, 3)) {
        assert.doesNotMatch(bodyless, /transfer-encoding/i);
        assert.ok(bodyless.endsWith("\r\n\r\n"), `nothing after the headers: ${JSON.stringify(bodyless)}`);
      }
      assert.equal(JSON.parse(responses[3]!.slice(responses[3]!.indexOf("\r\n\r\n") + 4)).id, "2");
    } finally {
      await server.close(0);
    }
  });

  test("an SSE response over HTTP/1.1 says connection: keep-alive", async () => {
    const server = await serve(behaviourApp().app, { port: 0, host: "127.0.0.1" });
    try {
      const answer = await rawRequest(server.url, "GET /v1/events?count=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assert.match(answer, /\r\nConnection: keep-alive\r\n/i);
      assert.match(answer, /\r\nTransfer-Encoding: chunked\r\n/i);
    } finally {
      await server.close(0);
    }
  });

  test("shutdown stops accepting but lets an open stream finish", async () => {
    const server = await serve(behaviourApp().app, { port: 0, host: "127.0.0.1" });
    const hooks = hooksFor("shutdown-finish");
    const res = await fetch(`${server.url}/v1/events?count=2&key=shutdown-finish`);
    const reader = res.body!.getReader();
    await reader.read();
    const closed = server.close(60_000);
    await assert.rejects(fetch(`${server.url}/v1/things/1`), "no new requests once closing");
    hooks.gate.resolve();
    let text = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    assert.match(text, /id: 2\n/);
    await closed;
    assert.equal(await Promise.race([hooks.aborted.promise.then(() => "aborted"), hooks.finished.promise.then(() => "finished")]), "finished");
  });

  test("a stream still open at the deadline is closed and its producer aborted", async () => {
    const server = await serve(behaviourApp().app, { port: 0, host: "127.0.0.1" });
    const hooks = hooksFor("shutdown-deadline");
    const res = await fetch(`${server.url}/v1/events/idle?key=shutdown-deadline`);
    const reader = res.body!.getReader();
    await reader.read();
    await server.close(50);
    await hooks.aborted.promise;
    await assert.rejects(async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read());
    });
  });
});
