/**
 * The persona saga's state machine. Every move is one transaction: a conditional update of
 * the persona on (saga id, expected status, event sequence) plus the new status event, so a
 * stale or redelivered message can never move a saga twice or move the wrong saga.
 *
 *   pending ──start──> synthesizing ──step 1──> generating_image ──step 2──> ready
 *                           │                          │                       │
 *                           └──── fail (DLQ, sweeper) ─┴──> failed             │
 *   ready / failed ──start (regenerate: new saga id, version + 1; old card stays)┘
 */
import { randomBytes, randomUUID } from "node:crypto";
import { ConflictError, NotReadyError } from "../errors.ts";
import { keys } from "../data/keys.ts";
import { cancellationReasons, transact } from "../data/table.ts";
import { MIN_ANSWERS_FOR_AGGREGATES } from "../surveys/aggregate.ts";
import type { Persona, PersonaStatus, SagaStep } from "./model.ts";

export interface SagaSettings {
  tableName: string;
  /** A step not done by then is re-driven (its message re-sent) by the sweeper. */
  stepTimeoutMs: number;
  /** A saga not ready by then is failed by the sweeper. */
  sagaTimeoutMs: number;
}

const EVENT_TTL_SECONDS = 7 * 24 * 3600;
const TERMINAL: readonly PersonaStatus[] = ["ready", "failed"];

function eventItem(uid: string, seq: number, status: PersonaStatus, saga: { sagaId: string; version: number }, at: string, reason?: string) {
  return {
    ...keys.personaEvent(uid, seq),
    seq,
    status,
    sagaId: saga.sagaId,
    version: saga.version,
    reason,
    at,
    expiresAt: Math.floor(Date.parse(at) / 1000) + EVENT_TTL_SECONDS,
  };
}

/**
 * Starts (or restarts) the saga: status `synthesizing`, a new saga id, version + 1.
 * `onlyIfNew` (the automatic start on the 3rd answer) never restarts an existing persona.
 */
export async function startSaga(
  settings: SagaSettings,
  owner: { uid: string; surveyId: string; answerCount: number },
  existing: Persona | undefined,
  options: { onlyIfNew?: boolean; now?: Date } = {},
): Promise<Persona> {
  if (owner.answerCount < MIN_ANSWERS_FOR_AGGREGATES) {
    const needed = MIN_ANSWERS_FOR_AGGREGATES - owner.answerCount;
    throw new NotReadyError(`${needed} more answer(s) needed`, "not_enough_answers", { answers: owner.answerCount, needed });
  }
  if (existing && !TERMINAL.includes(existing.status) && existing.status !== "pending") {
    throw new ConflictError("A persona is already being generated", "saga_running");
  }
  if (existing && options.onlyIfNew) throw new ConflictError("The persona already exists", "persona_exists");
  const now = options.now ?? new Date();
  const at = now.toISOString();
  const seq = (existing?.eventSeq ?? 0) + 1;
  const saga = { sagaId: randomUUID(), version: (existing?.version ?? 0) + 1 };
  const stepDeadlineAt = new Date(now.getTime() + settings.stepTimeoutMs).toISOString();
  const persona: Persona = {
    ...existing,
    uid: owner.uid,
    personaId: existing?.personaId ?? randomBytes(12).toString("base64url"),
    status: "synthesizing",
    ...saga,
    surveyId: owner.surveyId,
    eventSeq: seq,
    sagaStartSeq: seq,
    stepDeadlineAt,
    sagaDeadlineAt: new Date(now.getTime() + settings.sagaTimeoutMs).toISOString(),
    redrives: 0,
    updatedAt: at,
    reason: undefined,
    failedStep: undefined,
    draft: undefined,
  };
  try {
    await transact({
      TransactItems: [
        {
          // An update of the saga's own fields only: attributes other requests own (the
          // owner's visibility, the ready version) are never written back from our read.
          Update: {
            TableName: settings.tableName,
            Key: keys.persona(owner.uid),
            UpdateExpression:
              "SET #uid = :uid, personaId = :personaId, #status = :status, sagaId = :sagaId, version = :version, surveyId = :surveyId, " +
              "eventSeq = :next, sagaStartSeq = :next, stepDeadlineAt = :step, sagaDeadlineAt = :deadline, redrives = :zero, " +
              "updatedAt = :at, GSI1PK = :gsiPk, GSI1SK = :gsiSk REMOVE reason, failedStep, draft",
            // The persona we read is still the one there (or there is none): no saga started in between.
            ConditionExpression: existing ? "eventSeq = :seq" : "attribute_not_exists(PK)",
            ExpressionAttributeNames: { "#uid": "uid", "#status": "status" },
            ExpressionAttributeValues: {
              ":uid": owner.uid,
              ":personaId": persona.personaId,
              ":status": persona.status,
              ":sagaId": persona.sagaId,
              ":version": persona.version,
              ":surveyId": persona.surveyId,
              ":next": seq,
              ":step": stepDeadlineAt,
              ":deadline": persona.sagaDeadlineAt,
              ":zero": 0,
              ":at": at,
              ":gsiPk": keys.activeSaga(stepDeadlineAt, owner.uid).GSI1PK,
              ":gsiSk": keys.activeSaga(stepDeadlineAt, owner.uid).GSI1SK,
              ...(existing ? { ":seq": existing.eventSeq } : {}),
            },
          },
        },
        { Put: { TableName: settings.tableName, Item: eventItem(owner.uid, seq, "synthesizing", saga, at), ConditionExpression: "attribute_not_exists(PK)" } },
        // The public id's pointer back to its owner, written once with the first saga.
        ...(existing
          ? []
          : [{ Put: { TableName: settings.tableName, Item: { ...keys.personaOwner(persona.personaId), uid: owner.uid }, ConditionExpression: "attribute_not_exists(PK)" } }]),
      ],
    });
  } catch (error) {
    if (cancellationReasons(error)?.some((r) => r.code === "ConditionalCheckFailed")) {
      throw new ConflictError("A persona is already being generated", "saga_running");
    }
    throw error;
  }
  return persona;
}

export interface Move {
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
export async function transition(tableName: string, persona: Persona, move: Move): Promise<Persona | undefined> {
  const now = move.now ?? new Date();
  const at = now.toISOString();
  const seq = persona.eventSeq + 1;
  const active = move.to === "synthesizing" || move.to === "generating_image";
  const set: Record<string, unknown> = { ...move.set, status: move.to, eventSeq: seq, updatedAt: at };
  const remove = [...(move.remove ?? [])];
  if (move.reason !== undefined) set.reason = move.reason;
  if (active) {
    const stepDeadlineAt = new Date(now.getTime() + (move.stepTimeoutMs ?? 0)).toISOString();
    Object.assign(set, { stepDeadlineAt, ...keys.activeSaga(stepDeadlineAt, persona.uid) });
  } else {
    remove.push("GSI1PK", "GSI1SK", "stepDeadlineAt");
  }
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ":saga": persona.sagaId, ":from": persona.status, ":seq": persona.eventSeq };
  const assignments = Object.entries(set).map(([name, value], i) => {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    return `#s${i} = :s${i}`;
  });
  const removals = remove.map((name, i) => ((names[`#r${i}`] = name), `#r${i}`));
  names["#sagaId"] = "sagaId";
  names["#status"] = "status";
  names["#eventSeq"] = "eventSeq";
  try {
    await transact({
      TransactItems: [
        {
          Update: {
            TableName: tableName,
            Key: keys.persona(persona.uid),
            UpdateExpression: `SET ${assignments.join(", ")}${removals.length ? ` REMOVE ${removals.join(", ")}` : ""}`,
            ConditionExpression: "#sagaId = :saga AND #status = :from AND #eventSeq = :seq",
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
        { Put: { TableName: tableName, Item: eventItem(persona.uid, seq, move.to, persona, at, move.reason), ConditionExpression: "attribute_not_exists(PK)" } },
      ],
    });
  } catch (error) {
    if (cancellationReasons(error)?.some((r) => r.code === "ConditionalCheckFailed")) return undefined;
    throw error;
  }
  const updated = { ...persona, ...set } as Persona & Record<string, unknown>;
  for (const name of remove) delete updated[name];
  return updated;
}

/** Fails the saga in flight with a reason the owner can read. */
export function failSaga(tableName: string, persona: Persona, step: SagaStep, reason: string): Promise<Persona | undefined> {
  return transition(tableName, persona, { to: "failed", reason, set: { failedStep: step } });
}
