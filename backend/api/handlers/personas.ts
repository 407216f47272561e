/** The owner's persona: status (query), start (command), and the live status feed (SSE). */
import { setTimeout as sleep } from "node:timers/promises";
import { getPersona, statusEventsAfter, type StatusEvent } from "../../personas/model.ts";
import { personaView, requestPersona, type PersonaDeps } from "../../personas/personas.ts";
import { EmptyResponse } from "../errors.ts";
import { respond, stream, type Handler } from "../framework.ts";
import type { Request } from "../http.ts";

export interface PersonaRouteDeps extends PersonaDeps {
  requireUid: (req: Request) => Promise<string>;
  pollMs: number;
}

const TERMINAL = new Set(["ready", "failed"]);

function statusData(e: StatusEvent) {
  return { status: e.status, saga_id: e.sagaId, version: e.version, reason: e.reason ?? null, at: e.at };
}

export function personaHandlers(deps: PersonaRouteDeps) {
  const { tableName } = deps.settings;

  const get: Handler = async (ctx) => respond(await personaView(deps, await deps.requireUid(ctx.req)));

  const start: Handler = async (ctx) => {
    const persona = await requestPersona(deps, await deps.requireUid(ctx.req));
    return respond(
      { status: persona.status, saga_id: persona.sagaId, version: persona.version },
      { status: 202, headers: { location: "/v1/personas/me" } },
    );
  };

  /**
   * Status events of the saga in flight (ids are the event sequence numbers), until
   * `ready` or `failed`. `Last-Event-ID` resumes after that event without repeats; a
   * reconnect after the end gets 204, which tells EventSource to stop reconnecting.
   */
  const events: Handler = async (ctx) => {
    const uid = await deps.requireUid(ctx.req);
    const header = ctx.req.headers["last-event-id"];
    const lastId = header !== undefined && /^\d{1,10}$/.test(header) ? Number(header) : undefined;
    const persona = await getPersona(tableName, uid);
    let after = Math.max(lastId ?? 0, persona ? persona.sagaStartSeq - 1 : 0);
    if (persona && TERMINAL.has(persona.status) && persona.eventSeq <= after) throw new EmptyResponse();
    return stream(async (sse) => {
      if (!persona) await sse.send({ event: "status", data: { status: "pending", saga_id: null, version: 0, reason: null, at: new Date().toISOString() } });
      while (!sse.signal.aborted) {
        for (const event of await statusEventsAfter(tableName, uid, after)) {
          await sse.send({ event: "status", id: String(event.seq), data: statusData(event) });
          after = event.seq;
          if (TERMINAL.has(event.status)) return;
        }
        await sleep(deps.pollMs, undefined, { signal: sse.signal }).catch(() => {});
      }
    });
  };

  return { get, start, events };
}
