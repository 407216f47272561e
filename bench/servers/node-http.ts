/**
 * The baseline: plain node:http, as fastify/benchmarks writes it, with the same two JSON
 * routes, a raw SSE writer (same framing and headers as ours) and raw idle streams with a
 * heartbeat timer each.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { announce, clock, HOST, sseParams } from "./common.ts";

const HEARTBEAT_MS = Number(process.env.SSE_HEARTBEAT_MS ?? 15_000);
const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
  connection: "keep-alive",
};

const server = createServer(async (req, res) => {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  if (path === "/v1/bench/hello") {
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.end(JSON.stringify({ hello: "world" }));
  } else if (path.startsWith("/v1/bench/items/")) {
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.end(JSON.stringify({ id: decodeURIComponent(path.slice("/v1/bench/items/".length)) }));
  } else if (path === "/v1/bench/sse") {
    const { events, interval } = sseParams(q === -1 ? "" : url.slice(q + 1));
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    for (let i = 0; i < events && !res.destroyed; i++) {
      if (interval > 0) await sleep(interval);
      if (!res.write(`id: ${i}\ndata: ${JSON.stringify({ i, t: clock() })}\n\n`)) await once(res, "drain");
    }
    res.end();
  } else if (path === "/v1/bench/idle") {
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), HEARTBEAT_MS);
    res.on("close", () => clearInterval(heartbeat));
  } else {
    res.statusCode = 404;
    res.end();
  }
});
server.listen(0, HOST, () => announce(server));
