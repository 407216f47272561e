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
import { logger, withLogContext } from "../log.ts";
import type { Metrics } from "../ports/metrics.ts";
import type { StepQueues } from "../ports/queue.ts";
import type { Persona } from "./model.ts";
import { failSaga, sagaLogContext, stepTrace, type SagaSettings } from "./saga.ts";
import { stepAt, type SagaStep } from "./status.ts";
import type { PersonaStore } from "./store.ts";

export interface SweepDeps {
  store: PersonaStore;
  queues: StepQueues<SagaStep>;
  settings: SagaSettings & { maxRedrives: number };
  metrics: Pick<Metrics, "record">;
}

export interface SweepReport {
  redriven: number;
  /** Overdue steps whose queue still had messages waiting: deadline pushed forward only. */
  postponed: number;
  failed: number;
}

/** Running sagas past their step deadline, each read itself (the index holds keys only and lags). */
async function overdue(store: PersonaStore, now: Date): Promise<Persona[]> {
  const found: Persona[] = [];
  for (const uid of await store.overdueOwners(now)) {
    const persona = await store.find(uid);
    if (persona) found.push(persona);
  }
  return found;
}

export async function sweep(deps: SweepDeps, now = new Date()): Promise<SweepReport> {
  const report: SweepReport = { redriven: 0, postponed: 0, failed: 0 };
  const { settings, store } = deps;
  // Read once per queue per sweep, and only when some step of that queue is overdue.
  const backlogs = new Map<SagaStep, Promise<number>>();
  const backlog = (step: SagaStep) => backlogs.get(step) ?? backlogs.set(step, deps.queues.backlog(step)).get(step)!;
  const nextDeadline = () => new Date(now.getTime() + settings.stepTimeoutMs).toISOString();
  for (const persona of await overdue(store, now)) {
    // The index is eventually consistent: trust only the persona as read just now.
    const step = stepAt(persona.status);
    if (!step || !persona.stepDeadlineAt || persona.stepDeadlineAt > now.toISOString()) continue;
    // Each saga's lines carry its origin, as its workers' do.
    await withLogContext(sagaLogContext(persona, step), async () => {
      const expired = persona.sagaDeadlineAt !== undefined && persona.sagaDeadlineAt <= now.toISOString();
      if (!expired && (await backlog(step)) > 0) {
        if (await store.extendStep(persona, nextDeadline(), false)) {
          report.postponed += 1;
          deps.metrics.record("SagaPostponed", 1, { step });
          logger.info("saga postponed", { backlog: await backlog(step) });
        }
        return;
      }
      if (expired || (persona.redrives ?? 0) >= settings.maxRedrives) {
        const reason = expired
          ? "The persona took too long to generate; please try again"
          : "The persona could not be generated; please try again";
        if (await failSaga(store, persona, step, reason)) {
          report.failed += 1;
          const reasonClass = expired ? "timed_out" : "redrives_exhausted";
          deps.metrics.record("SagaFailed", 1, { reason: reasonClass });
          logger.warn("saga failed", { reason_class: reasonClass });
        }
        return;
      }
      if (await store.extendStep(persona, nextDeadline(), true)) {
        await deps.queues.send(step, { uid: persona.uid, sagaId: persona.sagaId }, stepTrace(persona));
        report.redriven += 1;
        deps.metrics.record("SagaRedriven", 1, { step });
        logger.info("saga re-driven", { redrives: (persona.redrives ?? 0) + 1 });
      }
    });
  }
  return report;
}
