/**
 * The same app behind each adapter, driven through one interface, so the behaviour suite
 * runs unchanged against: a real node:http server on a port, the Function URL streaming
 * handler (with a stand-in for the runtime's `awslambda` global that behaves like the real
 * one: the metadata prelude goes out on the first write only), and API Gateway 1.0 and 2.0
 * events.
 *
 * Every target checks what it receives against the API contract (support/contract.ts):
 * the production app by default; `{ contract: "test-app" }` for an app of the tests' own,
 * whose undocumented paths are skipped.
 */
import { Writable } from "node:stream";
import { apiGatewayHandler } from "../../backend/api/adapters/api-gateway.ts";
import { functionUrlHandler, type StreamingRuntime } from "../../backend/api/adapters/function-url.ts";
import { serve } from "../../backend/api/adapters/node.ts";
import type { App } from "../../backend/api/http.ts";
import { type ContractMode, contract, eventChecker } from "./contract.ts";
import { checkedChunks, watch } from "./contract-watch.ts";

export interface Sent {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Received {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

export interface Target {
  name: string;
  /** Whether bytes reach the client before the response is complete. */
  streaming: boolean;
  /** The base URL, for targets reachable over a real socket. */
  url?: string;
  /** The platform decodes the path before we see it (an HTTP API): `%2F` arrives as `/`. */
  decodesPath?: boolean;
  request(path: string, sent?: Sent): Promise<Received>;
  /** Starts a request and yields body text as it arrives (streaming targets only). */
  open(
    path: string,
    sent?: Sent,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; chunks: AsyncIterable<string>; cancel(): void }>;
  close(): Promise<void>;
}

export interface TargetOptions {
  /** What the app serves: the production API (`api`, the default) or an app of the tests' own. */
  contract?: ContractMode;
}

/** A whole-response `request` on top of a streaming `open`. */
function collected(open: Target["open"]): Target["request"] {
  return async (path, sent) => {
    const res = await open(path, sent);
    let body = "";
    for await (const chunk of res.chunks) body += chunk;
    return { status: res.status, headers: res.headers, body };
  };
}

export async function nodeTarget(app: App, options: TargetOptions = {}): Promise<Target> {
  const server = await serve(app, { port: 0, host: "127.0.0.1" });
  // Every fetch to this server is checked, also the tests' own `fetch(target.url + …)`.
  const unwatch = watch(server.url, options.contract);
  const open: Target["open"] = async (path, sent = {}) => {
    const controller = new AbortController();
    const res = await fetch(server.url + path, {
      method: sent.method ?? "GET",
      headers: sent.headers,
      body: sent.body,
      redirect: "manual",
      signal: controller.signal,
    });
    const headers: Record<string, string | string[]> = Object.fromEntries(res.headers);
    if (res.headers.getSetCookie().length) headers["set-cookie"] = res.headers.getSetCookie();
    const body = res.body;
    async function* chunks() {
      if (!body) return;
      const decoder = new TextDecoder();
      try {
        for await (const chunk of body) yield decoder.decode(chunk, { stream: true });
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    }
    return { status: res.status, headers, chunks: chunks(), cancel: () => controller.abort() };
  };
  return {
    name: "node:http",
    streaming: true,
    url: server.url,
    open,
    request: collected(open),
    close: () => {
      unwatch();
      return server.close(0);
    },
  };
}

/** Behaves like the Lambda runtime's response stream: see runtime-interface-client. */
class RecordingResponseStream extends Writable {
  contentType = "application/octet-stream";
  onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  readonly received: Buffer[] = [];
  #written = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.received.push(chunk);
    this.emit("chunk");
    callback();
  }

  override write(chunk: string | Uint8Array, ...rest: never[]): boolean {
    if (!this.#written && this.onBeforeFirstWrite) this.onBeforeFirstWrite((c) => super.write(c));
    this.#written = true;
    return super.write(chunk, ...rest);
  }
}

export function standInRuntime(): StreamingRuntime & { streams: RecordingResponseStream[] } {
  const streams: RecordingResponseStream[] = [];
  return {
    streams,
    streamifyResponse(handler) {
      return (event: never, responseStream: RecordingResponseStream) => handler(event, responseStream, {} as never);
    },
    HttpResponseStream: {
      from(stream, metadata) {
        const recording = stream as RecordingResponseStream;
        recording.contentType = "application/vnd.awslambda.http-integration-response";
        const prelude = JSON.stringify(metadata);
        recording.onBeforeFirstWrite = (write) => {
          write(prelude);
          write(new Uint8Array(8));
        };
        return stream;
      },
    },
  };
}

/** The stage the HTTP API target is deployed on: not `$default`, so it is in every path. */
export const HTTP_API_STAGE = "prod";

/**
 * What an HTTP API does to the path before the event: the named stage goes in front, and
 * percent-encoding is decoded (an invalid sequence is left as it came).
 */
function httpApiPath(rawPath: string): string {
  let decoded = rawPath;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {}
  return `/${HTTP_API_STAGE}${decoded}`;
}

/** A payload 2.0 event as a Function URL (encoded path, `$default`) or an HTTP API sends it. */
function v2Event(path: string, sent: Sent, from: "function-url" | "http-api" = "function-url") {
  const [target = "/", rawQueryString = ""] = path.split("?");
  const httpApi = from === "http-api";
  const rawPath = httpApi ? httpApiPath(target) : target;
  const domainName = httpApi ? "abc123.execute-api.us-east-1.amazonaws.com" : "abc.lambda-url.us-east-1.on.aws";
  const headers: Record<string, string> = { host: domainName, ...sent.headers };
  const binary = Buffer.isBuffer(sent.body);
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: "anonymous",
      apiId: "abc",
      domainName,
      http: { method: sent.method ?? "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.9", userAgent: "test" },
      requestId: "req-1",
      routeKey: "$default",
      stage: httpApi ? HTTP_API_STAGE : "$default",
      time: "22/Nov/2026:00:00:00 +0000",
      timeEpoch: 0,
    },
    body:
      sent.body === undefined ? undefined : binary ? (sent.body as Buffer).toString("base64") : Buffer.from(sent.body).toString("base64"),
    isBase64Encoded: sent.body !== undefined,
  };
}

/** Splits what the stand-in recorded into the prelude's metadata and the body. */
function parseRecorded(
  buffer: Buffer,
): { metadata: { statusCode: number; headers: Record<string, string>; cookies: string[] }; body: Buffer } | undefined {
  const delimiter = buffer.indexOf(Buffer.alloc(8));
  if (delimiter === -1) return undefined;
  return { metadata: JSON.parse(buffer.subarray(0, delimiter).toString()), body: buffer.subarray(delimiter + 8) };
}

export function functionUrlTarget(app: App, options: TargetOptions = {}): Target {
  const runtime = standInRuntime();
  const handler = functionUrlHandler(app, runtime) as (event: unknown, stream: RecordingResponseStream) => Promise<void>;
  const open: Target["open"] = async (path, sent = {}) => {
    const stream = new RecordingResponseStream();
    const done = handler(v2Event(path, sent), stream);
    // The metadata prelude must arrive before the handler finishes for streaming to work.
    let parsed = parseRecorded(Buffer.concat(stream.received));
    while (!parsed) {
      const outcome = await Promise.race([done.then(() => "done"), new Promise((r) => stream.once("chunk", () => r("chunk")))]);
      parsed = parseRecorded(Buffer.concat(stream.received));
      if (!parsed && outcome === "done") throw new Error("handler finished without sending the metadata prelude (would hang)");
    }
    const headers: Record<string, string | string[]> = { ...parsed.metadata.headers };
    if (parsed.metadata.cookies.length) headers["set-cookie"] = parsed.metadata.cookies;
    const start = stream.received.length;
    async function* chunks() {
      const decoder = new TextDecoder();
      yield decoder.decode(parseRecorded(Buffer.concat(stream.received.slice(0, start)))!.body, { stream: true });
      let next = start;
      for (;;) {
        while (next < stream.received.length) yield decoder.decode(stream.received[next++], { stream: true });
        if (stream.writableFinished || stream.destroyed) return;
        // One wait per chunk: remove all three listeners, or a long stream piles them up.
        await new Promise<void>((resolve) => {
          const next = () => {
            stream.off("chunk", next).off("finish", next).off("close", next);
            resolve();
          };
          stream.on("chunk", next).on("finish", next).on("close", next);
        });
      }
    }
    const head = { method: sent.method ?? "GET", path, status: parsed.metadata.statusCode, headers };
    return {
      status: parsed.metadata.statusCode,
      headers,
      chunks: checkedChunks(contract().begin(head, options.contract), chunks()),
      cancel: () => stream.destroy(),
    };
  };
  return {
    name: "function-url",
    streaming: true,
    open,
    request: collected(open),
    close: async () => {},
  };
}

function v1Event(path: string, sent: Sent) {
  const [rawPath = "/", rawQuery = ""] = path.split("?");
  const query = new URLSearchParams(rawQuery);
  // No prototype: a query key such as `__proto__` is a key like any other (found by the fuzzer).
  const multi: Record<string, string[]> = Object.create(null);
  for (const [k, v] of query) (multi[k] ??= []).push(v);
  const headers = { host: "api.example.com", ...sent.headers };
  return {
    resource: "/{proxy+}",
    path: rawPath,
    httpMethod: sent.method ?? "GET",
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: rawQuery ? Object.fromEntries(query) : null,
    multiValueQueryStringParameters: rawQuery ? multi : null,
    pathParameters: null,
    stageVariables: null,
    requestContext: { identity: { sourceIp: "203.0.113.9" }, requestId: "req-1" },
    body: sent.body === undefined ? null : Buffer.from(sent.body).toString("base64"),
    isBase64Encoded: sent.body !== undefined,
  };
}

export function apiGatewayTarget(app: App, version: "1.0" | "2.0", options: TargetOptions = {}): Target {
  const handler = apiGatewayHandler(app) as (event: unknown) => Promise<{
    statusCode: number;
    headers?: Record<string, string>;
    multiValueHeaders?: Record<string, string[]>;
    cookies?: string[];
    body: string;
    isBase64Encoded?: boolean;
  }>;
  const request: Target["request"] = async (path, sent = {}) => {
    const result = await handler(version === "1.0" ? v1Event(path, sent) : v2Event(path, sent, "http-api"));
    const headers: Record<string, string | string[]> = { ...result.headers };
    const cookies = result.cookies ?? result.multiValueHeaders?.["set-cookie"] ?? [];
    if (cookies.length) headers["set-cookie"] = cookies;
    const body = result.isBase64Encoded ? Buffer.from(result.body, "base64").toString() : result.body;
    const head = { method: sent.method ?? "GET", path, status: result.statusCode, headers, platformDecoded: version === "2.0" };
    const check = contract().begin(head, options.contract);
    if (check?.streaming) eventChecker(check)(body);
    else check?.body(body);
    return { status: result.statusCode, headers, body };
  };
  return {
    name: `api-gateway-${version}`,
    streaming: false,
    decodesPath: version === "2.0",
    request,
    async open(path, sent) {
      const res = await request(path, sent);
      return {
        ...res,
        chunks: (async function* () {
          yield res.body;
        })(),
        cancel() {},
      };
    },
    close: async () => {},
  };
}
