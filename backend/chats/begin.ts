/**
 * How a turn begins, up to what the model is asked: the persona may be chatted with, the user
 * is within the limits, the message is stored with the reply's placeholder and the chat's
 * lock, and the history fits the context. A send does it in one round trip once the chat is
 * known (issue 18: at most two before the model, the chat's read included):
 *
 *   the persona (one read: the chat names its owner) ─┐
 *   the history (the turn's own messages left out)  ─┼─ side by side
 *   message + placeholder + lock + message counter   ─┘
 *     + the persona still chattable, one transaction: nothing written if any refuses
 *
 * Retakes (alternates/retake.ts) check with `admit` and write their own transaction.
 */
import type { LLM } from "../ai/ports.ts";
import type { Increment } from "../data/rate-limit.ts";
import { ConflictError, NotFoundError, NotReadyError } from "../errors.ts";
import { withLogContext } from "../log.ts";
import { DependencyUnavailableError } from "../ports/dependency.ts";
import type { Persona, ReadyPersona } from "../personas/model.ts";
import { NO_SUCH_PERSONA, type Personas } from "../personas/personas.ts";
import { newTurn } from "./begin-store.ts";
import { fitHistory, foldSummary, systemWithSummary } from "./context.ts";
import type { ChatLimits } from "./limits.ts";
import type { Chat, HistoryPosition, Message } from "./model.ts";
import type { ChatStore } from "./store.ts";
import { releaseWhenBack, type Turn } from "./turn.ts";

export interface BeginDeps {
  store: ChatStore;
  budget: ChatLimits;
  llm: LLM;
  personas: Pick<Personas, "visibleTo" | "visibleAt" | "stillChattable">;
  contextTokens: number;
  /** A connected reply's lease: its stream's life and the time to store its ending. */
  leaseMs: number;
}

/** Messages of history read for a turn (more than any context holds). */
const HISTORY = 200;

function ready(persona: Persona): ReadyPersona {
  if (!persona.current) throw new NotReadyError("The persona is not ready yet", "persona_not_ready");
  return persona as ReadyPersona;
}

/** The chat's persona, by owner and id; a chat whose persona was deleted takes no more turns. */
function personaOf(chat: Chat): { uid: string; personaId: string } {
  if (chat.closed || chat.personaId === undefined || chat.personaUid === undefined)
    throw new ConflictError("This chat's persona was deleted; its history stays readable", "persona_deleted");
  return { uid: chat.personaUid, personaId: chat.personaId };
}

/** History after the summary, oldest first. */
const historyFrom = (chat: Chat): HistoryPosition =>
  chat.summaryThrough ? { direction: "newer", cursor: chat.summaryThrough } : { direction: "older" };

const settledValue = <T>(result: PromiseSettledResult<T>): T => {
  if (result.status === "rejected") throw result.reason;
  return result.value;
};

/**
 * After a turn's transaction failed with `error`: when its answer was lost (a timeout), it may
 * have been written all the same, and then its lock would refuse the chat's next turn for
 * LOCK_MS. `reply` (as the transaction wrote it) is ended as failed and the chat unlocked, now
 * or once the table is back; if nothing was written, the ending's conditions (the reply
 * generating, the lock its own) find nothing and write nothing.
 */
export function endIfBegun(store: ChatStore, chat: Chat, reply: Message, error: unknown): void {
  if (!(error instanceof DependencyUnavailableError)) return;
  withLogContext({ chat_id: chat.chatId, reply_id: reply.messageId }, () =>
    releaseWhenBack(() => store.finishTurn(chat, reply, { text: "", status: "failed" })),
  );
}

export function turnBeginnings(deps: BeginDeps) {
  const { store, budget, llm, personas } = deps;

  /** What the model is asked for a begun reply; if that cannot be made, the reply is failed and the chat unlocked. */
  async function turnOf(chat: Chat, user: Message, reply: Message, inputs: () => Promise<{ persona: ReadyPersona; history: Message[] }>) {
    try {
      const { persona, history } = await inputs();
      const window = fitHistory(history, deps.contextTokens);
      let summary = chat.summary;
      if (window.overflow.length > 0) {
        const folded = await foldSummary(llm, chat.summary, window.overflow);
        summary = folded.summary;
        await store.saveSummary(chat, summary, window.overflow.at(-1)!.messageId);
        // The summary's model call is the user's, like the reply's.
        await budget.charge(chat.uid, folded.usage.inputTokens + folded.usage.outputTokens);
      }
      const system = systemWithSummary(persona.current.systemPrompt, summary);
      return { chat, user, reply, system, turns: window.turns, alternate: reply.alternate ?? 0 } satisfies Turn;
    } catch (error) {
      // The turn began (the user's message is kept) but cannot go on: its reply is marked
      // failed and the chat unlocked, now or once the table is back, not after the lock expires.
      withLogContext({ chat_id: chat.chatId, reply_id: reply.messageId }, () =>
        releaseWhenBack(() => store.finishTurn(chat, reply, { text: "", status: "failed" })),
      );
      throw error;
    }
  }

  return {
    /**
     * For a retake: the persona, once today's token budget is not spent (both read side by
     * side; a spent budget is heard first), and the message counter's increment for its transaction.
     */
    async admit(chat: Chat): Promise<{ persona: ReadyPersona; counter?: Increment }> {
      const { personaId } = personaOf(chat);
      // By its public id, as before: a retake's transaction carries no persona conditions, so the id's pointer is read.
      const [admitted, persona] = await Promise.allSettled([budget.withinBudget(chat.uid), personas.visibleTo(chat.uid, personaId)]);
      settledValue(admitted);
      return { persona: ready(settledValue(persona)), counter: budget.messageCount(chat.uid) };
    },

    /** A retake's turn, its messages written: the history read now, the reply itself (placeholder, or the one regenerated) left out. */
    retakeOf: (chat: Chat, persona: ReadyPersona, user: Message, reply: Message) =>
      turnOf(chat, user, reply, async () => {
        const recent = await store.messages(chat.chatId, HISTORY, historyFrom(chat));
        return { persona, history: recent.items.filter((m) => m.messageId !== reply.messageId) };
      }),

    /**
     * Stores `text` (checked) as the user's message of `chat`, with its reply's placeholder,
     * the lock and the message counter; today's token budget is the caller's to have checked.
     */
    async begin(chat: Chat, text: string): Promise<Turn> {
      const owner = personaOf(chat);
      const counter = budget.messageCount(chat.uid);
      const { user, reply } = newTurn(chat, text, deps.leaseMs);
      const [persona, recent, opened] = await Promise.allSettled([
        personas.visibleAt(chat.uid, owner.uid, owner.personaId),
        store.messages(chat.chatId, HISTORY, historyFrom(chat)),
        store.openTurn(
          chat,
          { user, reply },
          { counter: counter?.write, conditions: personas.stillChattable(chat.uid, owner.uid, owner.personaId) },
        ),
      ]);
      if (opened.status === "fulfilled" && opened.value === "begun")
        return turnOf(chat, user, reply, async () => {
          // Read beside the write: it may or may not hold the turn's own messages.
          const earlier = settledValue(recent).items.filter((m) => m.messageId !== user.messageId && m.messageId !== reply.messageId);
          return { persona: ready(settledValue(persona)), history: [...earlier, user] };
        });
      if (opened.status === "rejected") endIfBegun(store, chat, reply, opened.reason);
      // Otherwise nothing was written. The refusal a user hears first: the message counter, the persona, the lock.
      if (opened.status === "fulfilled" && opened.value === "limited") throw counter!.refused();
      ready(settledValue(persona));
      if (settledValue(opened) === "refused") throw new NotFoundError(NO_SUCH_PERSONA);
      throw new ConflictError("A reply is already being generated in this chat", "reply_in_progress");
    },
  };
}

export type TurnBeginnings = ReturnType<typeof turnBeginnings>;
