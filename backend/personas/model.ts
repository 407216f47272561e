/**
 * A user's persona as stored: one item per user (`USER#<uid>/PERSONA`) holding the saga in
 * flight and the last ready version, so a regeneration never hides the old card until the
 * new one is ready. Status changes are also kept as events (`PERSONA_EVENT#<seq>`) for the
 * live status feed.
 */
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { keys } from "../data/keys.ts";
import { table } from "../data/table.ts";
import type { Trait } from "../surveys/questions.ts";

export type PersonaStatus = "pending" | "synthesizing" | "generating_image" | "ready" | "failed";
export type SagaStep = "synthesis" | "image";

export const ACTIVE_STATUSES: readonly PersonaStatus[] = ["synthesizing", "generating_image"];
export const STEP_STATUS: Record<SagaStep, PersonaStatus> = { synthesis: "synthesizing", image: "generating_image" };

export interface PersonaCard {
  name: string;
  tagline: string;
  personality: string;
  speaking_style: string;
  greeting: string;
  interests: string[];
  visual_description: string;
}

export interface PersonaDraft {
  card: PersonaCard;
  /** The chat system prompt, built by our code from checked fields (never model free text). */
  systemPrompt: string;
  traits: Record<Trait, number>;
  arena: string[];
  answerCount: number;
  writer: string;
}

export interface PersonaVersion extends PersonaDraft {
  version: number;
  illustrationKey: string;
  illustrator: string;
  readyAt: string;
}

export interface Persona {
  uid: string;
  /** Public id (for cards); never the uid. */
  personaId: string;
  status: PersonaStatus;
  sagaId: string;
  /** Version the saga in flight will produce (or the last saga's). */
  version: number;
  surveyId: string;
  /** Sequence number of the last status event. */
  eventSeq: number;
  /** First event of the saga in flight, so a new feed starts there. */
  sagaStartSeq: number;
  reason?: string;
  failedStep?: SagaStep;
  stepDeadlineAt?: string;
  sagaDeadlineAt?: string;
  /** How often the sweeper re-sent the current step's message. */
  redrives: number;
  draft?: PersonaDraft;
  current?: PersonaVersion;
  public?: boolean;
  updatedAt: string;
}

export interface StatusEvent {
  seq: number;
  status: PersonaStatus;
  sagaId: string;
  version: number;
  reason?: string;
  at: string;
}

export async function getPersona(tableName: string, uid: string): Promise<Persona | undefined> {
  const { Item } = await table().send(new GetCommand({ TableName: tableName, Key: keys.persona(uid), ConsistentRead: true }));
  return Item as Persona | undefined;
}

/** Status events after `afterSeq`, oldest first. */
export async function statusEventsAfter(tableName: string, uid: string, afterSeq: number): Promise<StatusEvent[]> {
  const range = keys.personaEventsAfter(uid, afterSeq);
  const { Items = [] } = await table().send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "PK = :pk AND SK BETWEEN :after AND :upTo",
      ExpressionAttributeValues: { ":pk": range.PK, ":after": range.after, ":upTo": range.upTo },
      ConsistentRead: true,
    }),
  );
  return (Items as (StatusEvent & { SK: string })[]).filter((e) => e.SK !== range.after).map(({ seq, status, sagaId, version, reason, at }) => ({ seq, status, sagaId, version, reason, at }));
}
