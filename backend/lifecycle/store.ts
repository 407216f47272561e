/**
 * Deletions in progress and deleted accounts, on the single table. Every DynamoDB expression
 * of the lifecycle domain lives here; the other domains' data is deleted by their own stores.
 *
 *   JOB#<kind>#<id> / JOB            a deletion not finished yet (kind: account, persona, survey),
 *                                    in GSI1 under JOBS#LIFECYCLE by when it is due again
 *   REVOKED#<pseudonym> / ACCOUNT    a deleted account: tokens issued before `deletedAt` are
 *                                    refused; keyed by a keyed hash of the uid, expires (TTL)
 */
import { z } from "zod";
import { keys } from "../data/keys.ts";
import { isConditionFailed, type Table } from "../data/table.ts";

export const JobKind = z.enum(["account", "persona", "survey"]);

/** A deletion as the queue carries it: what to delete, and whose it is. */
export const LifecycleJob = z.strictObject({ kind: JobKind, id: z.string().min(1).max(400), uid: z.string().min(1).max(400) });
export type LifecycleJob = z.infer<typeof LifecycleJob>;

export interface StoredJob extends LifecycleJob {
  /** Complete passes so far (an account gets a second, later pass for writes that raced the first). */
  passes: number;
  startedAt: string;
  dueAt: string;
}

export function lifecycleStore(table: Table) {
  const jobKey = (job: Pick<LifecycleJob, "kind" | "id">) => keys.lifecycleJob(job.kind, job.id);

  async function find(job: Pick<LifecycleJob, "kind" | "id">): Promise<StoredJob | undefined> {
    const item = await table.get<StoredJob & Record<string, unknown>>(jobKey(job), { consistent: true });
    if (!item) return undefined;
    const { kind, id, uid, passes, startedAt, dueAt } = item;
    return { kind, id, uid, passes, startedAt, dueAt };
  }

  return {
    find,

    /** Records the job unless it is recorded already (a repeated request resumes the same job). */
    async begin(job: LifecycleJob, dueAt: string, now = new Date()): Promise<StoredJob> {
      const item: StoredJob = { ...job, passes: 0, startedAt: now.toISOString(), dueAt };
      try {
        await table.put({
          Item: { ...jobKey(job), ...item, ...keys.pendingJob(dueAt, job.kind, job.id) },
          ConditionExpression: "attribute_not_exists(PK)",
        });
        return item;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        return (await find(job)) ?? item;
      }
    },

    /**
     * When the job is due again (a lease while it runs, or its next pass); counts a finished
     * pass when asked. False when the job has ended meanwhile (another run finished it).
     */
    async reschedule(job: LifecycleJob, dueAt: string, options: { passDone?: boolean } = {}): Promise<boolean> {
      try {
        await table.update({
          Key: jobKey(job),
          UpdateExpression: `SET dueAt = :due, GSI1SK = :sk${options.passDone ? " ADD passes :one" : ""}`,
          ConditionExpression: "attribute_exists(PK)",
          ExpressionAttributeValues: {
            ":due": dueAt,
            ":sk": keys.pendingJob(dueAt, job.kind, job.id).GSI1SK,
            ...(options.passDone ? { ":one": 1 } : {}),
          },
        });
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },

    end: (job: LifecycleJob): Promise<void> => table.delete({ Key: jobKey(job) }),

    /** Jobs due before `now` (their message was lost, or their worker died): the sweeper's list. */
    async overdue(now: Date): Promise<LifecycleJob[]> {
      const found = await table.queryAll<{ PK: string; SK: string }>({
        IndexName: "GSI1",
        KeyConditionExpression: "GSI1PK = :jobs AND GSI1SK < :now",
        ExpressionAttributeValues: { ":jobs": keys.pendingJobs.GSI1PK, ":now": now.toISOString() },
      });
      const jobs = await Promise.all(found.map((k) => table.get<StoredJob>({ PK: k.PK, SK: k.SK }, { consistent: true })));
      return jobs.filter((j): j is StoredJob => j !== undefined).map(({ kind, id, uid }) => ({ kind, id, uid }));
    },

    /** Refuses the account's tokens from now on, until `expiresAt` (Unix seconds): keyed by a pseudonym, never the uid. */
    async revoke(pseudonym: string, deletedAt: Date, expiresAt: number): Promise<void> {
      await table.put({ Item: { ...keys.revokedAccount(pseudonym), deletedAt: deletedAt.getTime(), expiresAt } });
    },

    /**
     * When the account was deleted (ms), if it was and the record has not expired. Eventually
     * consistent (half a read unit; it runs for every identified request): a token used in
     * the same second as its account's deletion, from another process, may still pass once.
     */
    async deletedAt(pseudonym: string, now = Date.now()): Promise<number | undefined> {
      const item = await table.get<{ deletedAt: number; expiresAt: number }>(keys.revokedAccount(pseudonym));
      return item && item.expiresAt * 1000 > now ? item.deletedAt : undefined;
    },
  };
}

export type LifecycleStore = ReturnType<typeof lifecycleStore>;
