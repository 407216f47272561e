/**
 * The sweeper: finds sagas whose current step is past its deadline (a lost queue message,
 * a crashed worker, a restart of the local stack) through the sparse `SAGA#ACTIVE` index,
 * and re-sends the step's message — or, past the saga's deadline or too many re-drives,
 * fails the saga with a reason. Every change is conditional on the persona not having
 * moved since it was read.
 *
 * A step can also be late because its message is still waiting its turn: under a burst the
 * workers' concurrency cap makes the queue a backlog that can outlast the step deadline.
 * While the step's queue has messages waiting, an overdue step is postponed (its deadline
 * pushed forward, no message sent, no re-drive counted): re-sending would only add a
 * duplicate behind the original, and counting it would fail healthy sagas once the backlog
 * outlasts `maxRedrives` deadlines. A message that really was lost is re-driven at the
 * first sweep that finds its queue drained, and the saga deadline still bounds the wait.
 */
import { QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { keys } from "../data/keys.ts";
import { isConditionFailed, table } from "../data/table.ts";
import type { StepMessage } from "../ports/queue.ts";
import { getPersona, type Persona } from "./model.ts";
import { failSaga, type SagaSettings } from "./saga.ts";

export interface SweepDeps {
  settings: SagaSettings & { synthesisQueueUrl: string; imageQueueUrl: string; maxRedrives: number };
  sendStep: (queueUrl: string, message: StepMessage) => Promise<void>;
  /** Messages waiting on a step queue (SQS ApproximateNumberOfMessages). */
  queueBacklog: (queueUrl: string) => Promise<number>;
}

export interface SweepReport {
  redriven: number;
  /** Overdue steps whose queue still had messages waiting: deadline pushed forward only. */
  postponed: number;
  failed: number;
}

async function overdue(tableName: string, now: Date): Promise<Persona[]> {
  const found: Persona[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table().send(
      new QueryCommand({
        TableName: tableName,
        IndexName: "GSI1",
        KeyConditionExpression: "GSI1PK = :active AND GSI1SK < :now",
        ExpressionAttributeValues: { ":active": "SAGA#ACTIVE", ":now": now.toISOString() },
        ExclusiveStartKey: startKey,
      }),
    );
    // The index holds keys only (a copy of every persona write would double its cost):
    // read each overdue persona itself, strongly consistent, before acting on it.
    for (const item of page.Items ?? []) {
      const persona = await getPersona(tableName, String(item.PK).slice("USER#".length));
      if (persona) found.push(persona);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return found;
}

/**
 * Pushes the step deadline forward (counting a re-drive when `redrive`), only if the saga
 * has not moved since it was read.
 */
async function extendStep(settings: SweepDeps["settings"], persona: Persona, now: Date, redrive: boolean): Promise<boolean> {
  const stepDeadlineAt = new Date(now.getTime() + settings.stepTimeoutMs).toISOString();
  try {
    await table().send(
      new UpdateCommand({
        TableName: settings.tableName,
        Key: keys.persona(persona.uid),
        UpdateExpression: `SET stepDeadlineAt = :deadline, GSI1SK = :sk${redrive ? " ADD redrives :one" : ""}`,
        ConditionExpression: "sagaId = :saga AND #status = :status AND eventSeq = :seq",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":deadline": stepDeadlineAt,
          ":sk": keys.activeSaga(stepDeadlineAt, persona.uid).GSI1SK,
          ...(redrive ? { ":one": 1 } : {}),
          ":saga": persona.sagaId,
          ":status": persona.status,
          ":seq": persona.eventSeq,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

export async function sweep(deps: SweepDeps, now = new Date()): Promise<SweepReport> {
  const report: SweepReport = { redriven: 0, postponed: 0, failed: 0 };
  const { settings } = deps;
  // Read once per queue per sweep, and only when some step of that queue is overdue.
  const backlogs = new Map<string, Promise<number>>();
  const backlog = (queueUrl: string) => backlogs.get(queueUrl) ?? backlogs.set(queueUrl, deps.queueBacklog(queueUrl)).get(queueUrl)!;
  for (const persona of await overdue(settings.tableName, now)) {
    // The index is eventually consistent: trust only the persona as read just now.
    if (persona.status !== "synthesizing" && persona.status !== "generating_image") continue;
    if (!persona.stepDeadlineAt || persona.stepDeadlineAt > now.toISOString()) continue;
    const step = persona.status === "synthesizing" ? "synthesis" : "image";
    const queueUrl = step === "synthesis" ? settings.synthesisQueueUrl : settings.imageQueueUrl;
    const expired = persona.sagaDeadlineAt !== undefined && persona.sagaDeadlineAt <= now.toISOString();
    if (!expired && (await backlog(queueUrl)) > 0) {
      if (await extendStep(settings, persona, now, false)) report.postponed += 1;
      continue;
    }
    if (expired || (persona.redrives ?? 0) >= settings.maxRedrives) {
      const reason = expired ? "The persona took too long to generate; please try again" : "The persona could not be generated; please try again";
      if (await failSaga(settings.tableName, persona, step, reason)) report.failed += 1;
      continue;
    }
    if (await extendStep(settings, persona, now, true)) {
      await deps.sendStep(queueUrl, { uid: persona.uid, sagaId: persona.sagaId });
      report.redriven += 1;
    }
  }
  return report;
}
