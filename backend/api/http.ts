/**
 * The whole server contract, ASGI-style: an adapter turns whatever invoked us (a node:http
 * request, a Function URL stream, an API Gateway event) into one `Request` and one
 * `ResponseWriter`, and hands both to the `App`. Nothing below this line knows which
 * adapter is in use.
 */

/** Lower-case header names. Repeated request headers arrive joined (", " or "; " for cookie). */
export type RequestHeaders = Readonly<Record<string, string | undefined>>;

/** Lower-case header names; `set-cookie` is the one header that may carry several values. */
export type ResponseHeaders = Record<string, string | string[]>;

export interface Request {
  /** Upper-case method, e.g. `GET`. */
  readonly method: string;
  /** The raw (still percent-encoded) path, without the query string. */
  readonly path: string;
  /** The raw query string without the leading `?` (may be empty). */
  readonly rawQuery: string;
  readonly headers: RequestHeaders;
  /** The peer address as the adapter saw it (socket, or the event's source IP). */
  readonly remoteAddress: string;
  /** Aborts when the client goes away before the response is complete. */
  readonly signal: AbortSignal;
  /**
   * Identity claims a platform authorizer attached (Cognito/JWT claims, a Lambda
   * authorizer's context). Only the API Gateway event adapter sets it, never from headers.
   */
  readonly authorizer?: Readonly<Record<string, unknown>>;
  /**
   * Reads the whole body. Rejects with `PayloadTooLarge` as soon as more than `limit` bytes
   * are announced or received, without buffering the rest.
   */
  body(limit: number): Promise<Buffer>;
}

export interface ResponseWriter {
  /** Sends status and headers. With `streaming`, they leave at once (before any body). */
  head(status: number, headers: ResponseHeaders, streaming: boolean): void;
  /** Writes and flushes one chunk; resolves when the sink can take more. */
  write(chunk: string | Uint8Array): Promise<void> | void;
  /** Ends the response, optionally with a last chunk. Safe to call once only. */
  end(chunk?: string | Uint8Array): Promise<void> | void;
}

/** What the core produces for any request: status, headers and a body or a stream. */
export type Reply = BodyReply | StreamReply;

export interface BodyReply {
  kind: "body";
  status: number;
  headers: ResponseHeaders;
  body: string | Uint8Array | null;
}

export interface StreamReply {
  kind: "stream";
  status: number;
  headers: ResponseHeaders;
  /** Writes the body; `signal` aborts when the client goes away. */
  run(write: (chunk: string) => Promise<void> | void, context: StreamContext): Promise<void>;
}

export interface StreamContext {
  signal: AbortSignal;
  /** The app's configured interval between keep-alive comments. */
  heartbeatMs: number;
  /** How long the stream may run before it ends itself. */
  maxLifeMs: number;
  /** Pad each event to at least this many bytes (0: no padding). */
  flushPaddingBytes: number;
  /**
   * The app's one table from lower layers' errors to HTTP errors, so a failure inside a
   * stream travels as the same code a reply would have carried.
   */
  mapError?: (error: unknown) => { code: string; message: string; status: number } | undefined;
}

/** The application as adapters see it. */
export type App = (request: Request, writer: ResponseWriter) => Promise<void>;
