/**
 * A small app exercising every core feature, served by each adapter in the behaviour
 * suite. Streams can be held at a gate and report their abort, so tests synchronise on
 * events instead of sleeping.
 */
import { createApp, type AppLogger } from "../../backend/api/app.ts";
import { Conflict, EmptyResponse, NotFound, ServiceUnavailable, TooManyRequests } from "../../backend/api/errors.ts";
import { jsonBody, noContent, respond, route, stream, streamBody } from "../../backend/api/framework.ts";
import type { App } from "../../backend/api/http.ts";
import { StreamExpired } from "../../backend/api/sse.ts";
import { loadConfig } from "../../backend/config.ts";

/** The deployed default: what the edge can hash, baked into the edge bundle too. */
export const BODY_LIMIT_BYTES = loadConfig({}).bodyLimitBytes;

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Per-key hooks a test installs before starting a gated stream. */
export const streamHooks = new Map<string, { gate: Deferred; aborted: Deferred; finished: Deferred<number> }>();

/** `finished` resolves with how many `tick` events the producer sent in all. */
export function hooksFor(key: string) {
  const hooks = { gate: deferred(), aborted: deferred(), finished: deferred<number>() };
  streamHooks.set(key, hooks);
  return hooks;
}

export interface LogLine {
  level: "info" | "error";
  message: string;
  attributes: Record<string, unknown>;
}

export interface BehaviourOptions {
  heartbeatMs?: number;
  corsOrigins?: string[];
  maxLifeMs?: number;
  flushPaddingBytes?: number;
}

/** Errors of a layer below HTTP, which only the app's `mapError` knows. */
export class LostThing extends Error {
  override name = "LostThing";
}
export class StoreDown extends Error {
  override name = "StoreDown";
}
const mapError = (error: unknown) =>
  error instanceof LostThing
    ? new NotFound("No such thing")
    : error instanceof StoreDown
      ? new ServiceUnavailable("Try again shortly")
      : undefined;

/** One reply object every request to `/v1/constant` gets: the app must never write into it. */
export const CONSTANT_REPLY = Object.freeze({
  kind: "body" as const,
  status: 200,
  headers: Object.freeze({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }),
  body: '{"constant":true}',
});

export function behaviourApp(options: BehaviourOptions = {}): { app: App; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const logger: AppLogger = {
    info: (message, attributes) => logs.push({ level: "info", message, attributes }),
    error: (message, attributes) => logs.push({ level: "error", message, attributes }),
  };
  const app = createApp({
    corsOrigins: options.corsOrigins ?? ["*"],
    bodyLimitBytes: BODY_LIMIT_BYTES,
    sseHeartbeatMs: options.heartbeatMs ?? 15_000,
    sseMaxLifeMs: options.maxLifeMs ?? 60_000,
    sseFlushPaddingBytes: options.flushPaddingBytes ?? 0,
    logger,
    mapError,
    routes: [
      route("GET", "/v1/things/:id", (ctx) => respond({ id: ctx.params.id, q: ctx.query.get("q") })),
      route("GET", "/v1/things/:id/parts/:part", (ctx) => respond(ctx.params)),
      route("GET", "/v1/constant", () => CONSTANT_REPLY as unknown as ReturnType<typeof respond>),
      route("POST", "/v1/things", async (ctx) => respond({ received: await jsonBody(ctx) }, { status: 201 })),
      route("DELETE", "/v1/things/:id", () => noContent()),
      route("GET", "/v1/empty", () => {
        throw new EmptyResponse();
      }),
      route("GET", "/v1/conflict", () => {
        throw new Conflict("Already there");
      }),
      route("GET", "/v1/limited", () => {
        throw new TooManyRequests(30);
      }),
      route("GET", "/v1/boom", () => {
        throw new Error("database password is hunter2");
      }),
      route("GET", "/v1/cached", () => respond({ v: 1 }, { etag: '"v1"', cache: { maxAge: 60, sMaxAge: 300 } })),
      route("POST", "/v1/redirect", () => ({ kind: "body", status: 302, headers: { location: "/v1/cached" }, body: null })),
      route("GET", "/v1/cookie", () => respond({ ok: true }, { headers: { "set-cookie": ["a=1; Path=/", "b=2; Path=/"] } })),
      route("GET", "/v1/events", (ctx) => {
        const count = Number(ctx.query.get("count") ?? "3");
        const key = ctx.query.get("key");
        const hooks = key ? streamHooks.get(key) : undefined;
        return stream(async (sse) => {
          sse.signal.addEventListener("abort", () => hooks?.aborted.resolve());
          await sse.send({ retry: 1500 });
          let sent = 0;
          for (let i = 1; i <= count; i++) {
            await sse.send({ event: "tick", id: String(i), data: { n: i } });
            sent = i;
            if (i === 1 && hooks) await Promise.race([hooks.gate.promise, hooks.aborted.promise]);
            if (sse.signal.aborted) break;
          }
          hooks?.finished.resolve(sent);
        });
      }),
      route("GET", "/v1/events/raw", () =>
        stream(async (sse) => {
          await sse.send({ data: "line one\nline two\r\nline three\rline four" });
          await sse.send({ event: "empty-id", id: "", data: "reset" });
          await sse.comment("just a comment");
          await sse.send({ data: "  leading spaces" });
        }),
      ),
      route("GET", "/v1/events/resume", (ctx) => {
        const after = Number(ctx.req.headers["last-event-id"] ?? "0");
        return stream(async (sse) => {
          await sse.send({ retry: 10 });
          // The first connection ends after event 2, as a dropped connection would.
          const last = after === 0 ? 2 : 4;
          for (let i = after + 1; i <= last; i++) await sse.send({ id: String(i), data: `event ${i}` });
          if (after === 0) return;
          await sse.send({ event: "end", data: "done" });
        });
      }),
      route("GET", "/v1/events/fail", () =>
        stream(async (sse) => {
          await sse.send({ event: "tick", data: "first" });
          throw new Error("secret internal detail");
        }),
      ),
      // Fails mid-stream with an error of a lower layer (`?kind=lost|down`).
      route("GET", "/v1/events/fail-below", (ctx) =>
        stream(async (sse) => {
          await sse.send({ event: "tick", data: "first" });
          throw ctx.query.get("kind") === "lost" ? new LostThing("thing 7 is gone") : new StoreDown("table at 10.0.0.7 timed out");
        }),
      ),
      route("GET", "/v1/events/inject", (ctx) =>
        stream(async (sse) => {
          await sse.send({ event: ctx.query.get("event") ?? "x", id: ctx.query.get("id") ?? "1", data: "payload" });
        }),
      ),
      // Ticks until told to stop; past its maximum life it still says so before the end.
      route("GET", "/v1/events/expiring", () =>
        stream(async (sse) => {
          await sse.send({ event: "tick", id: "1", data: "first" });
          if (!sse.signal.aborted) await new Promise<void>((resolve) => sse.signal.addEventListener("abort", () => resolve()));
          if (sse.signal.reason instanceof StreamExpired) await sse.send({ event: "end", data: "expired" });
        }),
      ),
      // Ignores its signal until the test opens the gate: the core must cut it off.
      route("GET", "/v1/events/stubborn", (ctx) => {
        const hooks = streamHooks.get(ctx.query.get("key") ?? "");
        return stream(async (sse) => {
          await sse.send({ event: "open", data: "{}" });
          await hooks?.gate.promise;
          await sse.send({ event: "late", data: "never seen" });
          hooks?.finished.resolve(0); // it sends no ticks
        });
      }),
      // A JSON document in `count` chunks (not SSE); with `key`, held at the gate after the first part.
      route("GET", "/v1/document", (ctx) => {
        const count = Number(ctx.query.get("count") ?? "3");
        const hooks = streamHooks.get(ctx.query.get("key") ?? "");
        async function* parts(clientGone: AbortSignal) {
          clientGone.addEventListener("abort", () => hooks?.aborted.resolve());
          let sent = 0;
          try {
            yield '{"parts":[';
            for (let i = 1; i <= count; i++) {
              yield `${i > 1 ? "," : ""}{"n":${i}}`;
              sent = i;
              if (i === 1 && hooks) await Promise.race([hooks.gate.promise, hooks.aborted.promise]);
            }
            yield "]}";
          } finally {
            // Runs when the consumer stops early too: the producer is closed, not left hanging.
            hooks?.finished.resolve(sent);
          }
        }
        return streamBody(parts, { "content-type": "application/json; charset=utf-8" });
      }),
      route("GET", "/v1/document/fail", () => {
        async function* parts() {
          yield '{"parts":[{"n":1}';
          throw new Error("secret internal detail");
        }
        return streamBody(parts(), { "content-type": "application/json; charset=utf-8" });
      }),
      route("GET", "/v1/events/idle", (ctx) => {
        const hooks = streamHooks.get(ctx.query.get("key") ?? "");
        return stream(async (sse) => {
          await sse.send({ event: "open", data: "{}" });
          await new Promise<void>((resolve) => sse.signal.addEventListener("abort", () => resolve()));
          hooks?.aborted.resolve();
        });
      }),
    ],
  });
  return { app, logs };
}
