/**
 * The production entry points in backend/lambda.ts, loaded as Lambda loads them: the
 * streaming handler under a stand-in `awslambda` global, the buffered one with plain events.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { before, describe, test } from "node:test";
import { standInRuntime } from "./support/targets.ts";

type Entry = typeof import("../backend/lambda.ts");
let entry: Entry;
let runtime: ReturnType<typeof standInRuntime>;

before(async () => {
  runtime = standInRuntime();
  (globalThis as { awslambda?: unknown }).awslambda = runtime;
  entry = await import("../backend/lambda.ts");
});

class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  #first = true;
  onBeforeFirstWrite: ((write: (c: string | Uint8Array) => void) => void) | undefined;
  override write(chunk: string | Uint8Array, ...rest: never[]): boolean {
    if (this.#first && this.onBeforeFirstWrite) this.onBeforeFirstWrite((c) => super.write(c));
    this.#first = false;
    return super.write(chunk, ...rest);
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void) {
    this.chunks.push(chunk);
    cb();
  }
}

describe("backend/lambda.ts", () => {
  test("the Function URL streaming handler answers /api/healthz", async () => {
    const sink = new Sink();
    const handler = entry.streamingHandler as (event: unknown, stream: Writable) => Promise<void>;
    await handler(
      {
        version: "2.0",
        rawPath: "/api/healthz",
        rawQueryString: "",
        headers: {},
        requestContext: { http: { method: "GET", sourceIp: "198.51.100.1" }, requestId: "r" },
        isBase64Encoded: false,
      },
      sink,
    );
    const all = Buffer.concat(sink.chunks);
    const cut = all.indexOf(Buffer.alloc(8));
    assert.ok(cut > 0, "the metadata prelude was sent");
    assert.equal(JSON.parse(all.subarray(0, cut).toString()).statusCode, 200);
    assert.deepEqual(JSON.parse(all.subarray(cut + 8).toString()), { status: "ok" });
  });

  test("the API Gateway handler answers REST (1.0) and HTTP API (2.0) events", async () => {
    const v1 = await entry.apiGatewayHandler({
      httpMethod: "GET",
      path: "/healthz",
      headers: {},
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      requestContext: { identity: { sourceIp: "198.51.100.1" } },
      body: null,
      isBase64Encoded: false,
    } as never);
    assert.equal((v1 as { statusCode: number }).statusCode, 200);
    const v2 = await entry.apiGatewayHandler({
      version: "2.0",
      rawPath: "/v1/unknown",
      rawQueryString: "",
      headers: {},
      requestContext: { http: { method: "GET", sourceIp: "198.51.100.1" } },
      isBase64Encoded: false,
    } as never);
    assert.equal((v2 as { statusCode: number }).statusCode, 404);
  });

  test("an event that is not an HTTP event is refused loudly", async () => {
    await assert.rejects(entry.apiGatewayHandler({ Records: [] } as never), TypeError);
  });
});
