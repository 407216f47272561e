/**
 * Server-Sent Events, framed to the letter of WHATWG HTML §9.2 (event stream format):
 * - `data` is split on every line ending (CRLF, CR, LF) into one `data:` line each, so a
 *   payload can never end an event early or smuggle in a field;
 * - `event` and `id` are single-line fields: CR, LF (and NUL, which makes parsers ignore an
 *   id) are refused rather than stripped, because silently changing an id breaks resumption;
 * - `retry` is digits only; comments start with `:`; every event ends with a blank line and is
 *   written (flushed) on its own.
 *
 * `stream()` turns a producer into a reply: it sends the headers at once, keeps idle proxies
 * from cutting the connection with heartbeat comments, turns an exception into an `error`
 * event, and aborts the producer's signal when the client goes away — or when the stream
 * reaches its maximum life, since behind the Lambda Web Adapter no disconnect is ever seen
 * and an abandoned stream would run (billed) until the function times out:
 *
 *   start ─── events, heartbeats ───┬─ producer returns ───────────────────────────> end
 *                                   ├─ client leaves: signal aborts, writes dropped ─> end
 *                                   └─ max life: signal aborts (StreamExpired), the producer
 *                                      may still send how it ended ─> ": …maximum life" ─> end
 *                                      (a producer that ignores it is cut off after a grace)
 */
import { HttpError } from "./errors.ts";
import type { ResponseHeaders, StreamReply } from "./http.ts";

export interface ServerSentEvent {
  /** Event type; omitted means the client's default `message`. */
  event?: string;
  /** A string is sent as is (split into lines); anything else as JSON. */
  data?: unknown;
  id?: string;
  /** Reconnection time in milliseconds. */
  retry?: number;
}

export interface EventSink {
  /** Frames and writes one event; resolves when the transport can take more. */
  send(event: ServerSentEvent): Promise<void>;
  /** Writes a comment (ignored by clients; keeps proxies from timing out). */
  comment(text?: string): Promise<void>;
  /**
   * Aborts when the producer must stop: the client has gone away, or the stream reached its
   * maximum life. In the second case the reason is a `StreamExpired` and what is sent next
   * still reaches the client, so the producer can say how it ended.
   */
  readonly signal: AbortSignal;
  /** Aborts only when the client has gone away: nothing sent after that reaches anyone. */
  readonly clientGone: AbortSignal;
}

export class InvalidEventField extends Error {
  override name = "InvalidEventField";
}

/** The reason of `EventSink.signal` when the stream reached its maximum life. */
export class StreamExpired extends Error {
  override name = "StreamExpired";
}

/** How long a producer may take to wrap up after its stream expired, at most. */
const MAX_GRACE_MS = 10_000;

const LINE_BREAK = /\r\n|\r|\n/;

function singleLine(field: "event" | "id", value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 10 || c === 13 || c === 0) {
      throw new InvalidEventField(`SSE "${field}" must not contain CR, LF or NUL`);
    }
  }
  return value;
}

/**
 * Frames one event.
 * @example formatEvent({ event: "token", id: "3", data: { text: "Hi" } })
 * // 'event: token\nid: 3\ndata: {"text":"Hi"}\n\n'
 */
export function formatEvent(event: ServerSentEvent): string {
  let out = "";
  if (event.event !== undefined) out += `event: ${singleLine("event", event.event)}\n`;
  if (event.id !== undefined) out += `id: ${singleLine("id", event.id)}\n`;
  if (event.retry !== undefined) {
    if (!Number.isSafeInteger(event.retry) || event.retry < 0) {
      throw new InvalidEventField('SSE "retry" must be a non-negative integer');
    }
    out += `retry: ${event.retry}\n`;
  }
  const { data } = event;
  if (typeof data === "string") {
    // Most strings are one line: no split needed.
    if (!data.includes("\n") && !data.includes("\r")) out += `data: ${data}\n`;
    else for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  } else if (data !== undefined) {
    // JSON escapes every control character, so its text is always a single line.
    const json = JSON.stringify(data) as string | undefined;
    if (json === undefined) throw new InvalidEventField('SSE "data" must be a string or JSON-serialisable');
    out += `data: ${json}\n`;
  }
  return `${out}\n`;
}

/** Frames a comment; each line of `text` becomes its own comment line. */
export function formatComment(text = ""): string {
  let out = "";
  for (const line of text.split(LINE_BREAK)) out += line === "" ? ":\n" : `: ${line}\n`;
  return `${out}\n`;
}

export const SSE_HEADERS: Readonly<ResponseHeaders> = Object.freeze({
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  // Tells nginx-style proxies not to buffer; `connection` is added by HTTP/1.1 adapters only.
  "x-accel-buffering": "no",
});

const SENT: Promise<void> = Promise.resolve();

export interface StreamOptions {
  /** Heartbeat comment interval; the app's configured default when omitted. */
  heartbeatMs?: number;
  headers?: ResponseHeaders;
}

/**
 * A streaming SSE reply.
 * @example
 * return stream(async (sse) => {
 *   for await (const token of model.generate({ signal: sse.signal })) {
 *     await sse.send({ event: "token", data: { text: token } });
 *   }
 * });
 */
export function stream(producer: (sink: EventSink) => Promise<void>, options: StreamOptions = {}): StreamReply {
  return {
    kind: "stream",
    status: 200,
    headers: { ...SSE_HEADERS, ...options.headers },
    async run(write, { signal: clientGone, heartbeatMs, maxLifeMs, flushPaddingBytes, mapError }) {
      const life = new AbortController();
      let open = true;
      // Not `async`, and no closure per event: a write the socket took at once resolves with
      // a shared settled promise instead of new ones per event. Framing errors still arrive
      // as a rejection.
      function framed<T>(format: (value: T) => string, value: T): Promise<void> {
        if (!open || clientGone.aborted) return SENT;
        try {
          return write(format(value)) ?? SENT;
        } catch (error) {
          return Promise.reject(error);
        }
      }
      const padded = padder(flushPaddingBytes);
      const sink: EventSink = {
        signal: AbortSignal.any([clientGone, life.signal]),
        clientGone,
        send: padded ? (event) => framed(padded, event) : (event) => framed(formatEvent, event),
        comment: (text) => framed(formatComment, text),
      };
      const heartbeat = setInterval(() => sink.comment("heartbeat").catch(() => {}), options.heartbeatMs ?? heartbeatMs);
      heartbeat.unref();
      let graceTimer: NodeJS.Timeout | undefined;
      const cutOff = new Promise<void>((resolve) => {
        graceTimer = setTimeout(() => {
          life.abort(new StreamExpired(`The stream reached its maximum life (${maxLifeMs} ms)`));
          graceTimer = setTimeout(resolve, Math.min(maxLifeMs, MAX_GRACE_MS));
        }, maxLifeMs);
      });
      const produced = producer(sink).catch(async (error: unknown) => {
        if (clientGone.aborted || !open) return;
        // Headers are gone already: the failure travels as the stream's last event, with the
        // code a reply would have had.
        const known = error instanceof HttpError ? error : mapError?.(error);
        await write(formatEvent({ event: "error", data: streamError(known) }));
        // What the client cannot be told in full (a 5xx, or anything unknown) goes to the log.
        if (known === undefined || known.status >= 500) throw error;
      });
      // Cut off after the grace, the producer may still fail later: that must not go unhandled.
      produced.catch(() => {});
      try {
        await Promise.race([produced, cutOff]);
        if (life.signal.aborted && !clientGone.aborted) await write(formatComment("the stream reached its maximum life"));
      } finally {
        open = false;
        clearInterval(heartbeat);
        clearTimeout(graceTimer);
      }
    },
  };
}

/**
 * Frames events padded with a comment line to at least `bytes` each, or `undefined` for no
 * padding. Lambda response streaming has been reported to hold small writes back for
 * seconds; a big enough chunk goes out at once (docs/decisions.md, SSE).
 */
function padder(bytes: number): ((event: ServerSentEvent) => string) | undefined {
  if (bytes <= 0) return undefined;
  const spaces = " ".repeat(bytes);
  return (event) => {
    const text = formatEvent(event);
    const length = Buffer.byteLength(text);
    // ":" + spaces + "\n" is a comment line, which every client ignores.
    return length >= bytes ? text : `${text}:${spaces.slice(0, Math.max(0, bytes - length - 2))}\n`;
  };
}

function streamError(known: { code: string; message: string } | undefined): { code: string; message: string } {
  if (known) return { code: known.code, message: known.message };
  return { code: "internal_error", message: "The stream failed" };
}
