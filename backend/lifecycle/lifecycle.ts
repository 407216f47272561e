/**
 * The data's whole life across the domains: deleting an account, a persona or a survey, and
 * exporting everything about a user. Each domain deletes its own items through its store
 * (`surveys.forget`, `chats.forgetChatsOf`, `personas.forget`…); this module decides the
 * order and carries the work to its end.
 *
 *   request ──> hidden at once (tokens refused, cards 404, survey 404) ──> job recorded
 *      └─> up to DELETION_INLINE_ITEMS items deleted inside the request ─┬─ done: job ends
 *                                                                        └─ more: queue message
 *   worker ──> up to WORKER_ITEMS more per message, then a continuation message ──> … ──> done
 *   sweeper ──> a job overdue (its message lost, its worker dead) is sent again
 *
 * Every step deletes what it finds by key or Query and only then the pointer that found it,
 * so a deletion cut short anywhere resumes where it stopped. An account gets a second pass
 * DELETION_RECHECK_SECONDS later, for writes of requests that were in flight at the deletion
 * (a streaming reply's token charge, say).
 */
import type { Config } from "../config.ts";
import { accountPseudonym } from "../data/pseudonym.ts";
import type { RateLimits } from "../data/rate-limit.ts";
import type { Table } from "../data/table.ts";
import { NotFoundError } from "../errors.ts";
import type { Chats } from "../chats/chats.ts";
import type { Identity } from "../identity/users.ts";
import { logger } from "../log.ts";
import type { Personas } from "../personas/personas.ts";
import type { MessageQueue } from "../ports/queue.ts";
import type { Surveys } from "../surveys/surveys.ts";
import { exportDocument, type ExportSources } from "./export.ts";
import { lifecycleStore, type LifecycleJob } from "./store.ts";

export { LifecycleJob } from "./store.ts";

export type LifecycleSettings = Pick<
  Config,
  "deletionInlineItems" | "deletionRecheckSeconds" | "deletionsPerDay" | "exportsPerDay" | "jwtTtlSeconds"
>;

export interface LifecycleDomains {
  identity: Pick<Identity, "forget" | "profile">;
  surveys: Pick<Surveys, "idsOf" | "forget" | "markDeleted" | "exportOf">;
  personas: Pick<Personas, "get" | "hide" | "forget" | "exportOf">;
  chats: Pick<Chats, "forgetChatsOf" | "closeChatsWith" | "exportOf">;
}

/** Items one worker invocation deletes before it hands over to a continuation message. */
const WORKER_ITEMS = 2_000;
/** A running job is due again after this long: only then does the sweeper think it lost. */
const LEASE_MS = 15 * 60_000;

/** What one run got through: `done` when nothing of the job is left. */
type Progress = { deleted: number; done: boolean };

export function lifecycleOn(
  table: Table,
  limits: RateLimits,
  queue: MessageQueue<LifecycleJob>,
  domains: LifecycleDomains,
  settings: LifecycleSettings,
) {
  const store = lifecycleStore(table);
  const { identity, surveys, personas, chats } = domains;
  const deletions = { scope: "deletion", name: "deletions_per_day", limit: settings.deletionsPerDay, windowSeconds: 86_400 };
  const lease = (now = Date.now()) => new Date(now + LEASE_MS).toISOString();

  /** Runs `job` until `budget` items are deleted or nothing is left. */
  async function work(job: LifecycleJob, budget: number): Promise<Progress> {
    let deleted = 0;
    const step = async (run: (limit: number) => Promise<Progress>) => {
      const progress = await run(budget - deleted);
      deleted += progress.deleted;
      return progress.done && deleted < budget;
    };
    switch (job.kind) {
      case "survey":
        return { deleted, done: await step((n) => surveys.forget(job.id, job.uid, n)) };
      case "persona":
        // `id` is the persona's public id: a new persona the owner starts meanwhile is not this one.
        if (!(await step((n) => personas.forget(job.uid, n, job.id)))) return { deleted, done: false };
        return { deleted, done: await step((n) => chats.closeChatsWith(job.uid, n, job.id)) };
      case "account":
        for (const surveyId of await surveys.idsOf(job.uid)) {
          if (!(await step((n) => surveys.forget(surveyId, job.uid, n)))) return { deleted, done: false };
        }
        for (const run of [
          (n: number) => chats.forgetChatsOf(job.uid, n),
          (n: number) => chats.closeChatsWith(job.uid, n),
          (n: number) => personas.forget(job.uid, n),
          async () => ({ deleted: await limits.forget({ user: job.uid }), done: true }),
          // Last: the user's partition, whatever is left in it (profile, pointers).
          (n: number) => identity.forget(job.uid, n),
        ]) {
          if (!(await step(run))) return { deleted, done: false };
        }
        return { deleted, done: true };
    }
  }

  /**
   * One run of a job: at most `budget` items. `more`: the caller hands the job to the queue;
   * `later`: its next pass is queued already. An account's first complete pass schedules the
   * second (run at once when DELETION_RECHECK_SECONDS is 0).
   */
  async function run(job: LifecycleJob, budget: number): Promise<{ state: "ended" | "more" | "later"; deleted: number }> {
    const stored = await store.find(job);
    // Ended already (a duplicate message, or another run finished it meanwhile).
    if (!stored || !(await store.reschedule(job, lease()))) return { state: "ended", deleted: 0 };
    const progress = await work(job, budget);
    if (!progress.done) return { state: "more", deleted: progress.deleted };
    if (job.kind === "account" && stored.passes === 0) {
      if (settings.deletionRecheckSeconds === 0) {
        await store.reschedule(job, lease(), { passDone: true });
        const again = await run(job, Math.max(1, budget - progress.deleted));
        return { state: again.state, deleted: progress.deleted + again.deleted };
      }
      const due = Date.now() + settings.deletionRecheckSeconds * 1000;
      await store.reschedule(job, lease(due), { passDone: true });
      await send(job, settings.deletionRecheckSeconds);
      return { state: "later", deleted: progress.deleted };
    }
    await store.end(job);
    return { state: "ended", deleted: progress.deleted };
  }

  /** Queues the job; if the queue is away, the sweeper sends it once its lease runs out. */
  async function send(job: LifecycleJob, delaySeconds?: number): Promise<void> {
    try {
      await queue.send(job, { delaySeconds });
    } catch (error) {
      logger.warn("deletion job not queued; the sweeper will send it", { kind: job.kind, error: (error as Error).name });
    }
  }

  /** Records the job, deletes what fits inside the request, and queues the rest. */
  async function start(job: LifecycleJob): Promise<{ status: "deleted" | "deleting" }> {
    await store.begin(job, lease());
    const first = await run(job, settings.deletionInlineItems);
    if (first.state === "more") await send(job);
    return { status: first.state === "ended" ? "deleted" : "deleting" };
  }

  return {
    /**
     * Deletes the account and everything about it. At once: its tokens are refused (a keyed
     * hash of the uid is kept until the longest token has expired) and its persona's card
     * and portrait are gone; the rest inside the request or in the background.
     */
    async deleteAccount(uid: string): Promise<{ status: "deleted" | "deleting" }> {
      await limits.consume(deletions, { user: uid });
      const now = new Date();
      await store.revoke(accountPseudonym(uid), now, Math.ceil(now.getTime() / 1000) + settings.jwtTtlSeconds);
      await personas.hide(uid);
      return start({ kind: "account", id: uid, uid });
    },

    /** Deletes the owner's persona (its card 404s at once); chats with it become read-only. */
    async deletePersona(uid: string): Promise<{ status: "deleted" | "deleting" }> {
      const persona = await personas.get(uid);
      if (!persona) throw new NotFoundError("You have no persona");
      await limits.consume(deletions, { user: uid });
      await personas.hide(uid);
      return start({ kind: "persona", id: persona.personaId, uid });
    },

    /** Deletes one of the owner's surveys (404 to everyone at once), answers and all. */
    async deleteSurvey(uid: string, surveyId: string): Promise<{ status: "deleted" | "deleting" }> {
      await surveys.markDeleted(surveyId, uid, limits.increment(deletions, { user: uid }));
      return start({ kind: "survey", id: surveyId, uid });
    },

    /** While an account's deletion is running, the same Google account cannot sign up again. */
    async accountDeleting(uid: string): Promise<boolean> {
      return (await store.find({ kind: "account", id: uid })) !== undefined;
    },

    /** When `uid`'s account was deleted (ms), while its tokens are still refused. */
    deletedAt: (uid: string): Promise<number | undefined> => store.deletedAt(accountPseudonym(uid)),

    /**
     * A queue message: one more run, and a continuation message if it is not done. Its
     * send is not caught: a lost continuation fails the message, which SQS delivers again.
     */
    async continueJob(job: LifecycleJob): Promise<"ended" | "more" | "later"> {
      const { state } = await run(job, WORKER_ITEMS);
      if (state === "more") await queue.send(job);
      return state;
    },

    /** Sends again every job whose lease ran out (the sweeper). */
    async sweep(now = new Date()): Promise<number> {
      const overdue = await store.overdue(now);
      for (const job of overdue) {
        await store.reschedule(job, lease(now.getTime()));
        await queue.send(job);
      }
      return overdue.length;
    },

    /**
     * Everything the product holds about `uid` (never friends' single answers), as JSON text
     * in chunks. The allowance is counted here, before the first chunk: a refusal is a reply.
     */
    async exportOf(uid: string): Promise<AsyncGenerator<string>> {
      await limits.consume(
        { scope: "export", name: "exports_per_day", limit: settings.exportsPerDay, windowSeconds: 86_400 },
        { user: uid },
      );
      const sources: ExportSources = {
        profile: () => identity.profile(uid),
        surveys: () => surveys.exportOf(uid),
        persona: () => personas.exportOf(uid),
        chats: () => chats.exportOf(uid),
      };
      return exportDocument(sources);
    },
  };
}

export type Lifecycle = ReturnType<typeof lifecycleOn>;
