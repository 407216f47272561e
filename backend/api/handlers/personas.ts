/** The owner's persona: status (query), start (command), and its status changes (SSE, or JSON). */
import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import type { Domains } from "../../compose.ts";
import type { Persona, StatusEvent } from "../../personas/model.ts";
import { isSettled } from "../../personas/status.ts";
import { api, type PersonaView, type SagaStarted, type StatusChange, type StatusFeed } from "../contract/index.ts";
import { EmptyResponse } from "../errors.ts";
import { acceptsEventStream, respond, stream, StreamExpired, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { input } from "./input.ts";
import type { Links } from "./links.ts";

/** While no saga exists, a client that keeps listening asks again this rarely. */
const IDLE_RETRY_MS = 30_000;

function statusData(e: StatusEvent): z.output<typeof StatusChange> {
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

/** `Last-Event-ID` (a reconnecting EventSource) wins over `?after=`; a malformed header counts as none. */
function lastSeen(header: string | undefined, after: number | undefined): number | undefined {
  return header !== undefined && /^\d{1,10}$/.test(header) ? Number(header) : after;
}

export function personaHandlers({ personas, config }: Pick<Domains, "personas" | "config">, callers: Callers, links: Links) {
  const pollMs = config.personaEventsPollMs;
  const maxPollMs = Math.max(pollMs, config.personaEventsMaxPollMs);

  /** The account check runs beside the read: one round trip, the answer held until the check holds. */
  const get: Handler = (ctx) =>
    callers.requiredAlongside(ctx.req, async ({ uid }, cleared) => {
      void cleared();
      const view: z.output<typeof PersonaView> = await personas.view(uid);
      return respond(view);
    });

  /** The account check runs beside the start's read (personas.start awaits it before writing). */
  const start: Handler = (ctx) =>
    callers.requiredAlongside(ctx.req, async ({ uid }, cleared) => {
      const persona = await personas.start(uid, cleared);
      const body: z.output<typeof SagaStarted> = { status: persona.status, saga_id: persona.sagaId, version: persona.version };
      return respond(body, { status: 202, headers: { location: links.api("/v1/personas/me") } });
    });

  /**
   * Status events of the saga in flight (ids are the event sequence numbers), until `ready`
   * or `failed`; `Last-Event-ID` (or `?after=`) resumes after that event without repeats.
   * Without `Accept: text/event-stream`: the events so far as JSON, at once. A stream with
   * nothing to follow never waits (under the Web Adapter nobody would see its client leave):
   *
   *   no persona ────────────────────> `pending` once, `retry: 30 s`, end
   *   ready/failed, nothing new ─────> 204: EventSource stops reconnecting
   *   ready/failed ──────────────────> the rest of the last saga's events (or its status), end
   *   in flight ─────────────────────> follow to ready/failed, looking half as often after each
   *                                    empty read (a step is a model call of seconds to minutes),
   *                                    at once again after an event; at the stream's maximum life,
   *                                    `retry: <the interval reached>`, end: the client resumes
   */
  const events: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { query } = await input(ctx, api.personas.events);
    const lastId = lastSeen(ctx.req.headers["last-event-id"], query.after);
    const persona = await personas.get(uid);
    const live = acceptsEventStream(ctx.req);
    if (!persona) {
      if (!live) return respond({ status: "pending", events: [] } satisfies z.output<typeof StatusFeed>);
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
    if (!live) {
      const batch = await personas.statusEventsAfter(uid, after);
      const feed: z.output<typeof StatusFeed> = {
        status: persona.status,
        events: batch.map((e) => ({ event_id: e.seq, ...statusData(e) })),
      };
      return respond(feed);
    }
    let following = !isSettled(persona.status);
    if (!following && persona.eventSeq <= after) throw new EmptyResponse();
    return stream(async (sse) => {
      let waitMs = pollMs;
      while (!sse.signal.aborted) {
        const batch = await personas.statusEventsAfter(uid, after);
        // Back off while the step runs long; a new step may be quick again.
        waitMs = batch.length > 0 ? pollMs : Math.min(waitMs * 2, maxPollMs);
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
        await sleep(waitMs, undefined, { signal: sse.signal }).catch(() => {});
      }
      if (sse.signal.reason instanceof StreamExpired) await sse.send({ retry: waitMs });
    });
  };

  return { get, start, events };
}
