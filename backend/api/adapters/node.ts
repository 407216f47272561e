/**
 * node:http adapter: what `./run.sh` serves, and what runs under the Lambda Web Adapter.
 * Translates IncomingMessage/ServerResponse onto the core's Request/ResponseWriter, and
 * shuts down gracefully: stop accepting, let open requests and streams finish up to a
 * deadline, then close what is left (which aborts the streams' producers).
 */
import { once } from "node:events";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ClientClosedRequest, PayloadTooLarge } from "../errors.ts";
import { whenWritable } from "./backpressure.ts";
import type { App, Request, RequestHeaders, ResponseHeaders, ResponseWriter } from "../http.ts";

// Not `import … from "node:http"`: node builds an ES module facade of node:http by reading
// every export, and one of them loads node's whole fetch implementation (undici), a fifth
// of an empty process's start-up, which a server that only listens never uses.
const { createServer } = process.getBuiltinModule("node:http");

class NodeRequest implements Request {
  readonly method: string;
  readonly path: string;
  readonly rawQuery: string;
  readonly headers: RequestHeaders;
  readonly remoteAddress: string;
  #controller: AbortController | undefined;
  #body: Promise<Buffer> | undefined;

  constructor(
    private readonly raw: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.method = raw.method ?? "GET";
    // node joins repeated headers (", ", or "; " for cookie); only set-cookie stays an array,
    // and requests do not carry it.
    this.headers = raw.headers as RequestHeaders;
    this.remoteAddress = raw.socket.remoteAddress ?? "";
    const target = raw.url ?? "/";
    if (target.startsWith("/")) {
      const q = target.indexOf("?");
      this.path = q === -1 ? target : target.slice(0, q);
      this.rawQuery = q === -1 ? "" : target.slice(q + 1);
    } else {
      // absolute-form (RFC 9112 §3.2.2) or `*`: keep the path and query only.
      const url = URL.canParse(target) ? new URL(target) : undefined;
      this.path = url ? url.pathname : target;
      this.rawQuery = url ? url.search.slice(1) : "";
    }
  }

  /** Created on first use: most requests never ask, and an AbortController is not free. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = (this.#controller = new AbortController());
      if (this.res.closed) {
        if (!this.res.writableFinished) controller.abort();
      } else {
        this.res.once("close", () => {
          if (!this.res.writableFinished) controller.abort();
        });
      }
    }
    return this.#controller.signal;
  }

  body(limit: number): Promise<Buffer> {
    return (this.#body ??= this.#read(limit));
  }

  #read(limit: number): Promise<Buffer> {
    const declared = Number(this.raw.headers["content-length"] ?? 0);
    if (declared > limit) return Promise.reject(this.#refuse(limit));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const cleanup = () => {
        this.raw.off("data", onData).off("end", onEnd).off("close", onClose);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          cleanup();
          reject(this.#refuse(limit));
        } else {
          chunks.push(chunk);
        }
      };
      const onEnd = () => {
        cleanup();
        resolve(Buffer.concat(chunks, size));
      };
      const onClose = () => {
        cleanup();
        reject(new ClientClosedRequest());
      };
      this.raw.on("data", onData).on("end", onEnd).on("close", onClose);
    });
  }

  /** Stops reading an oversized body; the connection closes after the 413 is sent. */
  #refuse(limit: number): PayloadTooLarge {
    this.raw.pause();
    this.res.shouldKeepAlive = false;
    return new PayloadTooLarge(limit);
  }
}

function writerFor(req: IncomingMessage, res: ServerResponse): ResponseWriter {
  return {
    head(status, headers, streaming) {
      const out: ResponseHeaders = streaming && req.httpVersion === "1.1" ? { ...headers, connection: "keep-alive" } : headers;
      res.writeHead(status, out);
      if (streaming) res.flushHeaders();
    },
    write(chunk) {
      if (!res.destroyed && !res.write(chunk)) return whenWritable(res);
    },
    end(chunk) {
      if (!res.destroyed) res.end(chunk);
    },
  };
}

/**
 * Responses a socket still owes. Node parses pipelined requests ahead of answering them, so a
 * malformed one can fail while earlier ones are still being answered; its error must wait
 * for them, or the client would take it for the answer to its first request.
 */
interface Owed {
  pending: Set<ServerResponse>;
  /** What to do once nothing more is owed (the answer to a malformed request). */
  afterwards: (() => void) | undefined;
}
const owedBy = new WeakMap<Socket, Owed>();

function owe(socket: Socket, res: ServerResponse): void {
  let owed = owedBy.get(socket);
  if (!owed) owedBy.set(socket, (owed = { pending: new Set(), afterwards: undefined }));
  owed.pending.add(res);
  // One shared listener, no closure per request: this is on every request's path.
  res.once("close", paid);
}

function paid(this: ServerResponse): void {
  const owed = owedBy.get(this.req.socket);
  if (!owed) return;
  owed.pending.delete(this);
  if (owed.afterwards && settled(owed)) {
    const afterwards = owed.afterwards;
    owed.afterwards = undefined;
    afterwards();
  }
}

/**
 * Nothing more will be written but for a request the parse error cut short (its body never
 * completes, so it waits for it in vain): the error is that request's answer.
 */
function settled(owed: Owed): boolean {
  for (const res of owed.pending) if (res.req.complete || res.headersSent) return false;
  return true;
}

/** Runs `afterwards` once every response the socket owes has been written (at once if none). */
function whenAnswered(socket: Socket, afterwards: () => void): void {
  const owed = owedBy.get(socket);
  if (owed && !settled(owed)) owed.afterwards = afterwards;
  else afterwards();
}

/** A `node:http` request listener running the app. */
export function nodeListener(app: App): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    owe(req.socket, res);
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400. Node's own 400 has no body,
    // so the check is ours (requireHostHeader off) and the answer is the API's JSON error.
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
      const body = errorBody("missing_host", "HTTP/1.1 requests must carry a Host header");
      res.shouldKeepAlive = false;
      res.writeHead(400, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    app(new NodeRequest(req, res), writerFor(req, res)).catch((error: unknown) => {
      // The app answers every error itself; reaching here means the response is unusable.
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  };
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  405: "Method Not Allowed",
  408: "Request Timeout",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
};

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message, request_id: null } });
}

/** A whole JSON error response, for sockets node has handed to us (no ServerResponse). */
function rawError(status: number, code: string, message: string, extra = ""): string {
  const body = errorBody(code, message);
  return (
    `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: application/json; charset=utf-8\r\n${extra}` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** Ends `socket` with `response` once it owes nothing else; a closed socket is just destroyed. */
function answerLast(socket: Socket, response: string): void {
  whenAnswered(socket, () => {
    if (socket.writable) socket.end(response);
    else socket.destroy();
  });
}

const answeredMalformed = new WeakSet<Socket>();

/** Malformed HTTP never reaches the app: answer it with a JSON error (after what is owed) and close. */
function onClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  // The broken parser may fail again on later bytes: one answer is enough.
  if (answeredMalformed.has(socket)) return;
  answeredMalformed.add(socket);
  socket.pause();
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const code = status === 431 ? "headers_too_large" : status === 408 ? "request_timeout" : "bad_request";
  answerLast(socket, rawError(status, code, "Malformed HTTP request"));
}

/** What any path of ours answers to; CONNECT (a proxy tunnel) is not among them. */
const SERVED_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

/** CONNECT: node hands over the raw socket (and would drop it unanswered); say 405. */
function onConnect(_req: IncomingMessage, socket: Socket): void {
  answerLast(socket, rawError(405, "method_not_allowed", "CONNECT is not supported", `allow: ${SERVED_METHODS}\r\n`));
}

/** An `Expect` other than `100-continue`: node's own 417 has an empty body; ours is JSON. */
function onUnmetExpectation(req: IncomingMessage, res: ServerResponse): void {
  owe(req.socket, res);
  const body = errorBody("expectation_failed", "Only Expect: 100-continue is supported");
  // The body the client holds back may still come: do not read it as the next request.
  res.shouldKeepAlive = false;
  res.writeHead(417, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export interface RunningServer {
  server: Server;
  /** e.g. `http://127.0.0.1:8080` */
  url: string;
  /** Stops accepting, waits for open requests up to `graceMs`, then closes the rest. */
  close(graceMs: number): Promise<void>;
}

export interface ServeOptions {
  port: number;
  host: string;
  /** A client that has not sent its whole head by then gets 408 (slow-header defence); default 10 s. */
  headersTimeoutMs?: number;
  /** …and its whole request (head and body); default 30 s. Responses (streams) are not bounded by it. */
  requestTimeoutMs?: number;
}

export async function serve(app: App, options: ServeOptions): Promise<RunningServer> {
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const requestTimeout = Math.max(headersTimeout, options.requestTimeoutMs ?? 30_000);
  // Node looks for expired heads and requests on this interval (30 s by default): a quarter of
  // the head's allowance keeps a 408 close to its deadline.
  const connectionsCheckingInterval = Math.max(25, Math.min(1_000, Math.floor(headersTimeout / 4)));
  const server = createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval, requireHostHeader: false }, nodeListener(app));
  server.on("clientError", onClientError);
  server.on("connect", onConnect);
  server.on("checkExpectation", onUnmetExpectation);
  server.listen(options.port, options.host);
  await once(server, "listening");
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === "IPv6" ? `[${address}]` : address;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${host}:${port}`,
    close(graceMs) {
      return (closing ??= new Promise<void>((resolve) => {
        const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(deadline);
          resolve();
        });
        server.closeIdleConnections();
      }));
    },
  };
}
