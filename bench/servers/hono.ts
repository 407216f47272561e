/**
 * hono on @hono/node-server: the same two JSON routes, and `streamSSE` for the relay. With
 * `BENCH_LOGGER=on`, hono's logger middleware logs every request (to stdout, as ours does).
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { logger } from "hono/logger";
import { streamSSE } from "hono/streaming";
import type { Server } from "node:http";
import { announce, clock, HOST, sseParams } from "./common.ts";

const app = new Hono();
if (process.env.BENCH_LOGGER === "on") app.use(logger());
app.get("/v1/bench/hello", (c) => c.json({ hello: "world" }));
app.get("/v1/bench/items/:id", (c) => c.json({ id: c.req.param("id") }));
app.get("/v1/bench/sse", (c) => {
  const { events, interval } = sseParams(new URL(c.req.url).search.slice(1));
  return streamSSE(c, async (stream) => {
    for (let i = 0; i < events && !stream.aborted; i++) {
      if (interval > 0) await stream.sleep(interval);
      await stream.writeSSE({ id: String(i), data: JSON.stringify({ i, t: clock() }) });
    }
  });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: HOST }, () => announce(server as Server));
