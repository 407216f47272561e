/**
 * Personas on the single table. Every DynamoDB expression of the persona domain lives here;
 * the saga (saga.ts), its steps, the sweeper and the queries call these methods.
 *
 *   USER#uid / PERSONA              the persona: status, saga in flight, draft, ready version
 *   USER#uid / PERSONA_EVENT#<seq>  one status change, for the live feed (TTL'd)
 *   PERSONA#<id> / OWNER            public persona id → owner uid
 *   GSI1: SAGA#ACTIVE / <step deadline>#<uid>   running sagas, for the sweeper (keys only)
 *
 * The portrait's publication and the persona's deletion: lifecycle-store.ts.
 */
import { keys } from "../data/keys.ts";
import type { Increment } from "../data/rate-limit.ts";
import { cancellationReasons, isConditionFailed, type Table, type TableWrite } from "../data/table.ts";
import type { Persona, StatusEvent } from "./model.ts";
import { isRunning, type PersonaStatus } from "./status.ts";

const EVENT_TTL_SECONDS = 7 * 24 * 3600;

function eventItem(
  uid: string,
  seq: number,
  status: PersonaStatus,
  saga: { sagaId: string; version: number },
  at: string,
  reason?: string,
) {
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

/** A status change as the store writes it: the persona's new attributes and its event. */
export interface Move {
  to: PersonaStatus;
  set: Record<string, unknown>;
  remove: string[];
  reason?: string;
  at: string;
  /** The running step's new deadline (running statuses only). */
  stepDeadlineAt?: string;
}

export function personaStore(table: Table) {
  return {
    /** Strongly consistent: a saga move or a visibility change a moment ago is seen. */
    find: (uid: string): Promise<Persona | undefined> => table.get<Persona>(keys.persona(uid), { consistent: true }),

    /**
     * The persona and which survey is the owner's open one, in one request (BatchGetItem of
     * the persona and the surveys' `OPEN_SURVEY` pointer; both strongly consistent): what a
     * start and a read need before anything else. `answerCount`: the survey domain's copy of
     * the survey's live answer count on the pointer (absent on pointers from before the copy).
     */
    async findWithOpenSurvey(
      uid: string,
    ): Promise<{ persona: Persona | undefined; openSurveyId: string | undefined; answerCount: number | undefined }> {
      const [persona, pointer] = await table.getMany<Record<string, unknown>>([keys.persona(uid), keys.openSurvey(uid)], {
        consistent: true,
      });
      return {
        persona: persona as Persona | undefined,
        openSurveyId: typeof pointer?.surveyId === "string" ? pointer.surveyId : undefined,
        answerCount: typeof pointer?.answerCount === "number" ? pointer.answerCount : undefined,
      };
    },

    /** The owner of a public persona id; the pointer never changes, so an eventually consistent read is enough. */
    async ownerOf(personaId: string): Promise<string | undefined> {
      const item = await table.get<{ uid?: unknown }>(keys.personaOwner(personaId));
      return typeof item?.uid === "string" ? item.uid : undefined;
    },

    /**
     * For another domain's transaction (a chat turn): `personaId` is still `uid`'s persona, ready,
     * and `viewerUid`'s to see (personas.ts `visible`), and its public id still names it (a
     * deletion removes that first). Nothing is written if either no longer holds.
     */
    stillChattable(uid: string, personaId: string, viewerUid: string): TableWrite[] {
      return [
        {
          ConditionCheck: {
            Key: keys.persona(uid),
            ConditionExpression: "personaId = :id AND attribute_exists(#current) AND (#uid = :viewer OR #public = :true)",
            ExpressionAttributeNames: { "#current": "current", "#uid": "uid", "#public": "public" },
            ExpressionAttributeValues: { ":id": personaId, ":viewer": viewerUid, ":true": true },
          },
        },
        {
          ConditionCheck: {
            Key: keys.personaOwner(personaId),
            ConditionExpression: "#uid = :owner",
            ExpressionAttributeNames: { "#uid": "uid" },
            ExpressionAttributeValues: { ":owner": uid },
          },
        },
      ];
    },

    /** Status events after `afterSeq`, oldest first. */
    async eventsAfter(uid: string, afterSeq: number): Promise<StatusEvent[]> {
      const range = keys.personaEventsAfter(uid, afterSeq);
      const { Items = [] } = await table.query({
        KeyConditionExpression: "PK = :pk AND SK BETWEEN :after AND :upTo",
        ExpressionAttributeValues: { ":pk": range.PK, ":after": range.after, ":upTo": range.upTo },
        ConsistentRead: true,
      });
      return (Items as (StatusEvent & { SK: string })[])
        .filter((e) => e.SK !== range.after)
        .map(({ seq, status, sagaId, version, reason, at }) => ({ seq, status, sagaId, version, reason, at }));
    },

    /**
     * Writes a new saga's start: the saga's own fields only (attributes other requests own,
     * such as visibility or the ready version, are never written back from our read), its
     * first event, and, for a first persona, the public id's pointer, with the owner's
     * start counter (`limit`) in the same transaction, so a refused start counts nothing.
     * `conflict` when another saga started since `existing` was read.
     */
    async beginSaga(
      persona: Persona,
      existing: Persona | undefined,
      at: string,
      limit?: Increment,
      /** Checked in the same transaction instead of read before it: the survey has at least this many published answers. */
      published?: { surveyId: string; atLeast: number },
    ): Promise<"started" | "conflict" | "limited" | { answers: number }> {
      const seq = persona.eventSeq;
      const active = keys.activeSaga(persona.stepDeadlineAt!, persona.uid);
      try {
        await table.transact([
          {
            Update: {
              Key: keys.persona(persona.uid),
              UpdateExpression:
                "SET #uid = :uid, personaId = :personaId, #status = :status, sagaId = :sagaId, version = :version, surveyId = :surveyId, " +
                "eventSeq = :next, sagaStartSeq = :next, stepDeadlineAt = :step, sagaDeadlineAt = :deadline, redrives = :zero, " +
                "correlationId = :correlationId, sagaStartedAt = :at, updatedAt = :at, GSI1PK = :gsiPk, GSI1SK = :gsiSk " +
                "REMOVE reason, failedStep, draft",
              // The persona we read is still the one there (or there is none): no saga started in between.
              ConditionExpression: existing ? "eventSeq = :seq" : "attribute_not_exists(PK)",
              ExpressionAttributeNames: { "#uid": "uid", "#status": "status" },
              ExpressionAttributeValues: {
                ":uid": persona.uid,
                ":personaId": persona.personaId,
                ":status": persona.status,
                ":sagaId": persona.sagaId,
                ":version": persona.version,
                ":surveyId": persona.surveyId,
                ":next": seq,
                ":step": persona.stepDeadlineAt,
                ":deadline": persona.sagaDeadlineAt,
                ":zero": 0,
                ":correlationId": persona.correlationId,
                ":at": at,
                ":gsiPk": active.GSI1PK,
                ":gsiSk": active.GSI1SK,
                ...(existing ? { ":seq": existing.eventSeq } : {}),
              },
            },
          },
          { Put: { Item: eventItem(persona.uid, seq, persona.status, persona, at), ConditionExpression: "attribute_not_exists(PK)" } },
          // The public id's pointer back to its owner, written once with the first saga.
          ...(existing
            ? []
            : [
                {
                  Put: {
                    Item: { ...keys.personaOwner(persona.personaId), uid: persona.uid },
                    ConditionExpression: "attribute_not_exists(PK)",
                  },
                },
              ]),
          ...(limit ? [limit.write] : []),
          ...(published
            ? [
                {
                  ConditionCheck: {
                    Key: keys.survey(published.surveyId),
                    ConditionExpression: "publishedCount >= :atLeast AND #status <> :deleted",
                    ExpressionAttributeNames: { "#status": "status" },
                    ExpressionAttributeValues: { ":atLeast": published.atLeast, ":deleted": "deleted" },
                    // The counts for the refusal, without a second read.
                    ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
                  },
                },
              ]
            : []),
        ]);
        return "started";
      } catch (error) {
        let reasons = cancellationReasons(error);
        if (!reasons?.some((r) => r.code === "ConditionalCheckFailed")) throw error;
        if (published) {
          // Too few answers first, as when the survey was read before the transaction.
          const survey = reasons.at(-1)!;
          if (survey.code === "ConditionalCheckFailed")
            return { answers: survey.item?.status === "deleted" ? 0 : Number(survey.item?.answerCount ?? 0) };
          reasons = reasons.slice(0, -1);
        }
        // A conflict first: a running saga is what the owner should hear about.
        if (limit && reasons.at(-1)?.code === "ConditionalCheckFailed" && reasons.slice(0, -1).every((r) => r.code === "None"))
          return "limited";
        return "conflict";
      }
    },

    /**
     * Moves `persona` (as read) with its status event, only if nothing changed since the
     * read (saga id, status and event sequence). False when the saga moved on meanwhile.
     */
    async move(persona: Persona, move: Move): Promise<boolean> {
      const seq = persona.eventSeq + 1;
      const set: Record<string, unknown> = { ...move.set, status: move.to, eventSeq: seq, updatedAt: move.at };
      const remove = [...move.remove];
      if (move.reason !== undefined) set.reason = move.reason;
      if (isRunning(move.to))
        Object.assign(set, { stepDeadlineAt: move.stepDeadlineAt, ...keys.activeSaga(move.stepDeadlineAt!, persona.uid) });
      else remove.push("GSI1PK", "GSI1SK", "stepDeadlineAt");
      const names: Record<string, string> = { "#sagaId": "sagaId", "#status": "status", "#eventSeq": "eventSeq" };
      const values: Record<string, unknown> = { ":saga": persona.sagaId, ":from": persona.status, ":seq": persona.eventSeq };
      const assignments = Object.entries(set).map(([name, value], i) => {
        names[`#s${i}`] = name;
        values[`:s${i}`] = value;
        return `#s${i} = :s${i}`;
      });
      const removals = remove.map((name, i) => {
        names[`#r${i}`] = name;
        return `#r${i}`;
      });
      try {
        await table.transact([
          {
            Update: {
              Key: keys.persona(persona.uid),
              UpdateExpression: `SET ${assignments.join(", ")}${removals.length ? ` REMOVE ${removals.join(", ")}` : ""}`,
              ConditionExpression: "#sagaId = :saga AND #status = :from AND #eventSeq = :seq",
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
            },
          },
          {
            Put: {
              Item: eventItem(persona.uid, seq, move.to, persona, move.at, move.reason),
              ConditionExpression: "attribute_not_exists(PK)",
            },
          },
        ]);
        return true;
      } catch (error) {
        if (cancellationReasons(error)?.some((r) => r.code === "ConditionalCheckFailed")) return false;
        throw error;
      }
    },

    /**
     * Pushes a running step's deadline forward (counting a re-drive when `redrive`), only if
     * the saga has not moved since it was read.
     */
    async extendStep(persona: Persona, stepDeadlineAt: string, redrive: boolean): Promise<boolean> {
      try {
        await table.update({
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
        });
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },

    /** Owners of running sagas whose step deadline has passed (the sparse, keys-only index). */
    async overdueOwners(now: Date): Promise<string[]> {
      const items = await table.queryAll<{ PK: string }>({
        IndexName: "GSI1",
        KeyConditionExpression: "GSI1PK = :active AND GSI1SK < :now",
        ExpressionAttributeValues: { ":active": keys.activeSagas.GSI1PK, ":now": now.toISOString() },
      });
      return items.map((item) => keys.uidOf(item.PK));
    },

    /** Sets only the visibility flag (the saga's conditions stay untouched); undefined without a persona. */
    async setPublic(uid: string, isPublic: boolean): Promise<Persona | undefined> {
      try {
        const { Attributes } = await table.update({
          Key: keys.persona(uid),
          UpdateExpression: "SET #public = :public",
          ConditionExpression: "attribute_exists(PK)",
          ExpressionAttributeNames: { "#public": "public" },
          ExpressionAttributeValues: { ":public": isPublic },
          ReturnValues: "ALL_NEW",
        });
        return Attributes as Persona;
      } catch (error) {
        if (isConditionFailed(error)) return undefined;
        throw error;
      }
    },
  };
}

export type PersonaStore = ReturnType<typeof personaStore>;
