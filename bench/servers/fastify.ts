/**
 * fastify, the same two JSON routes: default settings (no logger), or with its own request
 * logging (`BENCH_LOGGER=on`: `logger: true`, pino's JSON lines to stdout, as ours go).
 */
import Fastify from "fastify";
import { announce, HOST } from "./common.ts";

const app = Fastify({ logger: process.env.BENCH_LOGGER === "on" });
app.get("/v1/bench/hello", async () => ({ hello: "world" }));
app.get<{ Params: { id: string } }>("/v1/bench/items/:id", async (req) => ({ id: req.params.id }));
await app.listen({ port: 0, host: HOST });
announce(app.server, () => app.close());
