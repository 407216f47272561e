/** fastify, default settings (no logger), the same two JSON routes. */
import Fastify from "fastify";
import { announce, HOST } from "./common.ts";

const app = Fastify({ logger: false });
app.get("/v1/bench/hello", async () => ({ hello: "world" }));
app.get<{ Params: { id: string } }>("/v1/bench/items/:id", async (req) => ({ id: req.params.id }));
await app.listen({ port: 0, host: HOST });
announce(app.server, () => app.close());
