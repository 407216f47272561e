/**
 * Resuming a reply from anywhere: the events after a client's last event id, then live until
 * the reply is stored, read from the table alone (any process, any Lambda instance). Readers
 * write nothing, with two exceptions that happen once per reply: asking a generator that
 * persists nothing yet to start (the `followed` flag), and closing a reply whose generator's
 * lease ran out (`interrupted`, with the text it persisted).
 *
 *   reply finished ──────────────> the rest of its text, `stored`, `done`
 *   generating ── poll: progress items after the last one read, then the reply ──┐
 *        ^                                                                       │
 *        └──────── still generating, lease alive ◄───────────────────────────────┤
 *                  finished ──> the rest of its text, `stored`, `done'            │
 *                  lease expired ──> closed interrupted ──> `stored`, `done` ◄───┘
 */
import { setTimeout as sleep } from "node:timers/promises";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { eventId, parseEventId, type EventPosition } from "./event-ids.ts";
import type { Chat, Message } from "./model.ts";
import type { ProgressStore } from "./progress/store.ts";
import type { ChatStore } from "./store.ts";
import { runningHere, type ChatEvent } from "./turn.ts";

export interface FollowDeps {
  store: ChatStore;
  progress: ProgressStore;
  leaseMs: number;
  pollMs: number;
}

export const NO_SUCH_REPLY = "No such reply";

/** A reply one may resume: checked before any event is sent (404, 400). */
export interface Follow {
  reply: Message;
  events(signal: AbortSignal): AsyncGenerator<ChatEvent>;
}

/** `lastEventId`: a `Last-Event-ID` or `?after=`; undefined replays the whole reply. */
export async function openFollow(deps: FollowDeps, chat: Chat, replyId: string, lastEventId: string | undefined): Promise<Follow> {
  const reply = await deps.store.message(chat.chatId, replyId);
  if (reply?.role !== "model") throw new NotFoundError(NO_SUCH_REPLY);
  let after: EventPosition | undefined;
  if (lastEventId !== undefined) {
    after = parseEventId(lastEventId);
    if (!after) throw new InvalidInputError("That is not an event id this API gives out", "invalid_event_id");
    const alternate = reply.alternate ?? 0;
    const finished = reply.status !== "generating";
    if (after.alternate > alternate || (finished && after.alternate === alternate && after.offset > reply.text.length + 2))
      throw new InvalidInputError("That event id is not one of this reply's", "unknown_event_id");
  }
  return { reply, events: (signal) => follow(deps, chat, reply, after, signal) };
}

async function* follow(deps: FollowDeps, chat: Chat, first: Message, after: EventPosition | undefined, signal: AbortSignal) {
  const alternate = first.alternate ?? 0;
  const replyId = first.messageId;
  // An id of an earlier alternate: this one is new to the client, from its start.
  let pos = after && after.alternate === alternate ? after.offset : -1;
  if (pos < 0) {
    yield message(first, alternate, await userMessageOf(deps, first));
    pos = 0;
  }
  let reply: Message | undefined = first;
  let seq = 0;
  let persisted = "";
  let itemLease = 0;
  let asked = false;
  while (reply?.status === "generating" && (reply.alternate ?? 0) === alternate) {
    // In this process: have the run persist for us (no write needed to ask).
    runningHere(replyId)?.persist();
    for (const item of await deps.progress.after(chat.chatId, replyId, alternate, seq)) {
      let start = item.end - item.chunks.reduce((n, c) => n + c.length, 0);
      for (const chunk of item.chunks) {
        const end = start + chunk.length;
        if (end > pos) {
          yield token(alternate, chunk.slice(Math.max(0, pos - start)), end);
          pos = end;
        }
        start = end;
      }
      persisted += item.chunks.join("");
      seq = item.seq;
      itemLease = Math.max(itemLease, item.leaseUntil);
    }
    if (signal.aborted) return;
    reply = await deps.store.message(chat.chatId, replyId);
    if (reply?.status !== "generating") break;
    if (seq === 0 && !asked && !reply.followed && !runningHere(replyId)) {
      asked = true;
      await deps.progress.requestFollow(chat.chatId, replyId, Date.now() + deps.leaseMs);
      continue;
    }
    if (Date.now() > Math.max(reply.leaseUntil ?? 0, itemLease)) {
      // Its generator died (process killed, function timed out): end it with what it persisted.
      await deps.progress.closeAbandoned(chat, replyId, persisted, alternate);
      reply = await deps.store.message(chat.chatId, replyId);
      break;
    }
    await sleep(deps.pollMs, undefined, { signal }).catch(() => {});
    if (signal.aborted) return;
  }
  // A chat deleted meanwhile: nothing more to tell.
  if (reply) yield* ending(reply, alternate, pos);
}

/** The rest of a finished reply's text (one token), then how it was stored. */
function* ending(reply: Message, alternate: number, pos: number): Generator<ChatEvent> {
  const { text } = reply;
  if (text.length > pos) yield token(alternate, text.slice(pos), text.length);
  if (pos <= text.length) yield { type: "stored", id: eventId(alternate, text.length + 1), replyId: reply.messageId, status: reply.status };
  const usage = reply.usage ?? { inputTokens: 0, outputTokens: 0 };
  if (pos <= text.length + 1)
    yield {
      type: "done",
      id: eventId(alternate, text.length + 2),
      usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
    };
}

const token = (alternate: number, text: string, end: number): ChatEvent => ({ type: "token", id: eventId(alternate, end), text, end });

const message = (reply: Message, alternate: number, userMessageId: string): ChatEvent => ({
  type: "message",
  id: eventId(alternate, 0),
  userMessageId,
  replyId: reply.messageId,
  alternate,
});

/** The user message a reply answers: recorded on it since resumption exists, else the message before it. */
async function userMessageOf(deps: FollowDeps, reply: Message): Promise<string> {
  if (reply.inReplyTo) return reply.inReplyTo;
  const before = await deps.store.messages(reply.chatId, 1, { direction: "older", cursor: reply.messageId });
  return before.items[0]?.messageId ?? reply.messageId;
}
