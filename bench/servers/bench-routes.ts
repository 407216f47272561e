/**
 * Routes that exist only in the benchmark's server process: mounted next to the production
 * route list by bench/servers/ours.ts, never by backend/ code.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { respond, route, stream, type Route } from "../../backend/api/framework.ts";
import { clock, sseParams } from "./common.ts";

export function benchRoutes(): Route[] {
  return [
    route("GET", "/v1/bench/hello", () => respond({ hello: "world" })),
    route("GET", "/v1/bench/items/:id", (ctx) => respond({ id: ctx.params.id })),
    // An in-process producer of timestamped events (section 2).
    route("GET", "/v1/bench/sse", (ctx) => {
      const { events, interval } = sseParams(ctx.req.rawQuery);
      return stream(async (sse) => {
        for (let i = 0; i < events && !sse.signal.aborted; i++) {
          if (interval > 0) await sleep(interval);
          await sse.send({ id: String(i), data: { i, t: clock() } });
        }
      });
    }),
    // An idle stream: nothing but the app's heartbeats until the client leaves (section 3).
    route("GET", "/v1/bench/idle", () =>
      stream((sse) => new Promise<void>((resolve) => sse.signal.addEventListener("abort", () => resolve(), { once: true }))),
    ),
  ];
}
