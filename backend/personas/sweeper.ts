/**
 * The sweeper: finds sagas whose current step is past its deadline (a lost queue message,
 * a crashed worker, a restart of the local stack) through the sparse `SAGA#ACTIVE` index,
 * and re-sends the step's message — or, past the saga's deadline or too many re-drives,
 * fails the saga with a reason. Every change is conditional on the persona not having
 * moved since it was read.
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
}

export interface SweepReport {
  redriven: number;
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

/** Pushes the step deadline forward, only if the saga has not moved since it was read. */
async function claimRedrive(settings: SweepDeps["settings"], persona: Persona, now: Date): Promise<boolean> {
  const stepDeadlineAt = new Date(now.getTime() + settings.stepTimeoutMs).toISOString();
  try {
    await table().send(
      new UpdateCommand({
        TableName: settings.tableName,
        Key: keys.persona(persona.uid),
        UpdateExpression: "SET stepDeadlineAt = :deadline, GSI1SK = :sk ADD redrives :one",
        ConditionExpression: "sagaId = :saga AND #status = :status AND eventSeq = :seq",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":deadline": stepDeadlineAt,
          ":sk": keys.activeSaga(stepDeadlineAt, persona.uid).GSI1SK,
          ":one": 1,
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
  const report: SweepReport = { redriven: 0, failed: 0 };
  const { settings } = deps;
  for (const persona of await overdue(settings.tableName, now)) {
    // The index is eventually consistent: trust only the persona as read just now.
    if (persona.status !== "synthesizing" && persona.status !== "generating_image") continue;
    if (!persona.stepDeadlineAt || persona.stepDeadlineAt > now.toISOString()) continue;
    const step = persona.status === "synthesizing" ? "synthesis" : "image";
    const expired = persona.sagaDeadlineAt !== undefined && persona.sagaDeadlineAt <= now.toISOString();
    if (expired || (persona.redrives ?? 0) >= settings.maxRedrives) {
      const reason = expired ? "The persona took too long to generate; please try again" : "The persona could not be generated; please try again";
      if (await failSaga(settings.tableName, persona, step, reason)) report.failed += 1;
      continue;
    }
    if (await claimRedrive(settings, persona, now)) {
      await deps.sendStep(step === "synthesis" ? settings.synthesisQueueUrl : settings.imageQueueUrl, { uid: persona.uid, sagaId: persona.sagaId });
      report.redriven += 1;
    }
  }
  return report;
}
