/** The owner's persona: status (query), start (command), and the live status feed (SSE). */
import { setTimeout as sleep } from "node:timers/promises";
import type { Domains } from "../../compose.ts";
import type { Persona, StatusEvent } from "../../personas/model.ts";
import { isSettled } from "../../personas/status.ts";
import { EmptyResponse } from "../errors.ts";
import { respond, stream, StreamExpired, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";

/** While no saga exists, a client that keeps listening asks again this rarely. */
const IDLE_RETRY_MS = 30_000;

function statusData(e: StatusEvent) {
  return { status: e.status, saga_id: e.sagaId, version: e.version, reason: e.reason ?? null, at: e.at };
}

const settledEvent = (p: Persona): StatusEvent => ({
  seq: p.eventSeq,
  status: p.status,
  sagaId: p.sagaId,
  version: p.version,
  reason: p.reason,
  at: p.updatedAt,
});

export function personaHandlers({ personas, config }: Pick<Domains, "personas" | "config">, callers: Callers) {
  const pollMs = config.personaEventsPollMs;

  const get: Handler = async (ctx) => respond(await personas.view((await callers.required(ctx.req)).uid));

  const start: Handler = async (ctx) => {
    const persona = await personas.start((await callers.required(ctx.req)).uid);
    return respond(
      { status: persona.status, saga_id: persona.sagaId, version: persona.version },
      { status: 202, headers: { location: "/v1/personas/me" } },
    );
  };

  /**
   * Status events of the saga in flight (ids are the event sequence numbers), until `ready`
   * or `failed`; `Last-Event-ID` resumes after that event without repeats. A feed with
   * nothing to follow never waits (under the Web Adapter nobody would see its client leave):
   *
   *   no persona ────────────────────> `pending` once, `retry: 30 s`, end
   *   ready/failed, nothing new ─────> 204: EventSource stops reconnecting
   *   ready/failed ──────────────────> the rest of the last saga's events (or its status), end
   *   in flight ─────────────────────> follow to ready/failed; at the stream's maximum life,
   *                                    `retry: <poll interval>`, end: the client resumes
   */
  const events: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const header = ctx.req.headers["last-event-id"];
    const lastId = header !== undefined && /^\d{1,10}$/.test(header) ? Number(header) : undefined;
    const persona = await personas.get(uid);
    if (!persona) {
      return stream(async (sse) => {
        await sse.send({
          event: "status",
          retry: IDLE_RETRY_MS,
          data: { status: "pending", saga_id: null, version: 0, reason: null, at: new Date().toISOString() },
        });
      });
    }
    // An id past the last event (another account's feed, a stale tab) counts as all seen.
    let after = Math.min(Math.max(lastId ?? 0, persona.sagaStartSeq - 1), persona.eventSeq);
    let following = !isSettled(persona.status);
    if (!following && persona.eventSeq <= after) throw new EmptyResponse();
    return stream(async (sse) => {
      while (!sse.signal.aborted) {
        const batch = await personas.statusEventsAfter(uid, after);
        for (const event of batch) {
          await sse.send({ event: "status", id: String(event.seq), data: statusData(event) });
          after = event.seq;
          if (isSettled(event.status)) return;
        }
        if (!following) {
          // Settled when we looked, and its events have expired (after a week): where it stands.
          if (batch.length === 0) {
            await sse.send({ event: "status", id: String(persona.eventSeq), data: statusData(settledEvent(persona)) });
            return;
          }
          following = true; // a new saga began after we looked
        }
        await sleep(pollMs, undefined, { signal: sse.signal }).catch(() => {});
      }
      if (sse.signal.reason instanceof StreamExpired) await sse.send({ retry: pollMs });
    });
  };

  return { get, start, events };
}
