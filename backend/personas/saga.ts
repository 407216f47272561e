/**
 * The persona saga's state machine. Every move is one transaction (personas/store.ts): a
 * conditional update of the persona on (saga id, expected status, event sequence) plus the
 * new status event, so a stale or redelivered message can never move a saga twice or move
 * the wrong saga.
 *
 *   pending ──start──> synthesizing ──step 1──> generating_image ──step 2──> ready
 *                           │                          │                       │
 *                           └──── fail (DLQ, sweeper) ─┴──> failed             │
 *   ready / failed ──start (regenerate: new saga id, version + 1; old card stays)┘
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Increment } from "../data/rate-limit.ts";
import { ConflictError, NotReadyError } from "../errors.ts";
import type { LogContext } from "../log.ts";
import type { StepTrace } from "../ports/queue.ts";
import { MIN_ANSWERS_FOR_AGGREGATES } from "../surveys/aggregate.ts";
import type { Persona } from "./model.ts";
import { isRunning, type PersonaStatus, type SagaStep } from "./status.ts";
import type { PersonaStore } from "./store.ts";

export interface SagaSettings {
  /** A step not done by then is re-driven (its message re-sent) by the sweeper. */
  stepTimeoutMs: number;
  /** A saga not ready by then is failed by the sweeper. */
  sagaTimeoutMs: number;
}

/**
 * Starts (or restarts) the saga: status `synthesizing`, a new saga id, version + 1.
 * `onlyIfNew` (the automatic start on the 3rd answer) never restarts an existing persona.
 * `limit` (the owner's daily starts) counts in the same transaction: a refused start costs none.
 */
export async function startSaga(
  store: PersonaStore,
  settings: SagaSettings,
  owner: { uid: string; surveyId: string; answerCount: number; publishedCount?: number },
  existing: Persona | undefined,
  options: {
    onlyIfNew?: boolean;
    now?: Date;
    correlationId?: string;
    limit?: Increment;
    /** The survey was not read: its published count is checked by the start's own transaction. */
    checkSurvey?: boolean;
  } = {},
): Promise<Persona> {
  // Written from a published round only (docs/privacy.md): its answers are what count.
  if (!options.checkSurvey && (owner.publishedCount ?? owner.answerCount) < MIN_ANSWERS_FOR_AGGREGATES) throw notEnough(owner.answerCount);
  if (existing && isRunning(existing.status)) throw new ConflictError("A persona is already being generated", "saga_running");
  if (existing && options.onlyIfNew) throw new ConflictError("The persona already exists", "persona_exists");
  const now = options.now ?? new Date();
  const at = now.toISOString();
  const seq = (existing?.eventSeq ?? 0) + 1;
  const sagaId = randomUUID();
  const persona: Persona = {
    ...existing,
    uid: owner.uid,
    personaId: existing?.personaId ?? randomBytes(12).toString("base64url"),
    status: "synthesizing",
    sagaId,
    version: (existing?.version ?? 0) + 1,
    surveyId: owner.surveyId,
    eventSeq: seq,
    sagaStartSeq: seq,
    stepDeadlineAt: new Date(now.getTime() + settings.stepTimeoutMs).toISOString(),
    sagaDeadlineAt: new Date(now.getTime() + settings.sagaTimeoutMs).toISOString(),
    redrives: 0,
    // A saga started outside a request (none today) is its own origin.
    correlationId: options.correlationId ?? sagaId,
    sagaStartedAt: at,
    updatedAt: at,
    reason: undefined,
    failedStep: undefined,
    draft: undefined,
  };
  const published = options.checkSurvey ? { surveyId: owner.surveyId, atLeast: MIN_ANSWERS_FOR_AGGREGATES } : undefined;
  const begun = await store.beginSaga(persona, existing, at, options.limit, published);
  if (typeof begun === "object") throw notEnough(begun.answers);
  if (begun === "limited") throw options.limit!.refused();
  if (begun === "conflict") throw new ConflictError("A persona is already being generated", "saga_running");
  return persona;
}

function notEnough(answers: number): NotReadyError {
  const needed = Math.max(1, MIN_ANSWERS_FOR_AGGREGATES - answers);
  return new NotReadyError(`${needed} more answer(s) needed`, "not_enough_answers", { answers, needed });
}

export interface Transition {
  to: PersonaStatus;
  /** Attributes to set on the persona with the move. */
  set?: Record<string, unknown>;
  remove?: string[];
  reason?: string;
  now?: Date;
  stepTimeoutMs?: number;
}

/**
 * Moves `persona` (as read) from its status to `move.to`, only if nothing changed since the
 * read. Returns the updated persona, or `undefined` when the saga moved on meanwhile (a
 * duplicate or stale message): the caller then does nothing.
 */
export async function transition(store: PersonaStore, persona: Persona, move: Transition): Promise<Persona | undefined> {
  const now = move.now ?? new Date();
  const at = now.toISOString();
  const stepDeadlineAt = isRunning(move.to) ? new Date(now.getTime() + (move.stepTimeoutMs ?? 0)).toISOString() : undefined;
  const moved = await store.move(persona, {
    to: move.to,
    set: move.set ?? {},
    remove: move.remove ?? [],
    reason: move.reason,
    at,
    stepDeadlineAt,
  });
  if (!moved) return undefined;
  const updated = { ...persona, ...move.set, status: move.to, eventSeq: persona.eventSeq + 1, updatedAt: at, stepDeadlineAt } as Persona &
    Record<string, unknown>;
  if (move.reason !== undefined) updated.reason = move.reason;
  for (const name of move.remove ?? []) delete updated[name];
  return updated;
}

/** What every message of the saga in flight says about its origin. */
export function stepTrace(persona: Persona): StepTrace {
  // Sagas started before correlation ids were stored: their saga id stands in.
  return { correlationId: persona.correlationId ?? persona.sagaId, personaVersion: persona.version };
}

/** The keys of every log line about the saga in flight (log.ts `withLogContext`). */
export function sagaLogContext(persona: Persona, step?: SagaStep): LogContext {
  return { correlation_id: stepTrace(persona).correlationId, saga_id: persona.sagaId, persona_version: persona.version, step };
}

/** Fails the saga in flight with a reason the owner can read. */
export function failSaga(store: PersonaStore, persona: Persona, step: SagaStep, reason: string): Promise<Persona | undefined> {
  return transition(store, persona, { to: "failed", reason, set: { failedStep: step } });
}
