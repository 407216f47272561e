/**
 * The two saga steps, as the workers run them for one message each. A step reads the
 * persona, does nothing unless the message's saga is the one in flight and at this step
 * (duplicates and stale messages are acknowledged and change nothing), does its work, and
 * moves the saga with a conditional transition. On the last delivery attempt a failure
 * also fails the saga with a reason, then the message goes to the DLQ.
 */
import { logger } from "../log.ts";
import type { Media } from "../ports/media.ts";
import type { Metrics } from "../ports/metrics.ts";
import type { StepMessage, StepQueues } from "../ports/queue.ts";
import type { Surveys } from "../surveys/surveys.ts";
import { writeCheckedCard } from "./card-check.ts";
import type { Persona } from "./model.ts";
import type { Illustrator, PortraitPublisher } from "./portrait.ts";
import { failSaga, stepTrace, transition, type SagaSettings } from "./saga.ts";
import { STEP_STATUS, type SagaStep } from "./status.ts";
import type { PersonaStore } from "./store.ts";
import { chatSystemPrompt, type PersonaWriter } from "./writer.ts";

export interface StepDeps {
  store: PersonaStore;
  surveys: Pick<Surveys, "material">;
  queues: StepQueues<SagaStep>;
  media: Pick<Media, "putPortrait" | "remove">;
  portraits: PortraitPublisher;
  writer: PersonaWriter;
  illustrator: Illustrator;
  settings: SagaSettings;
  metrics: Pick<Metrics, "record">;
}

export interface Delivery {
  /** SQS ApproximateReceiveCount of this message. */
  receiveCount: number;
  maxReceiveCount: number;
}

export type StepOutcome = "done" | "skipped";

/** A reason the owner may read: what failed, never internals or secrets. */
function reasonFor(step: SagaStep, error: unknown): string {
  const kind = error instanceof Error ? error.name : "Error";
  return step === "synthesis" ? `Writing the persona failed (${kind})` : `Drawing the portrait failed (${kind})`;
}

/** The failure's class for metrics and queries: few values, never a message. */
const FAILURE_CLASSES: Readonly<Record<string, string>> = {
  ModelUnavailableError: "model_unavailable",
  InvalidModelOutputError: "model_output",
  ModelRefusedError: "model_refused",
  DependencyUnavailableError: "dependency",
};
export const failureClass = (error: unknown): string => FAILURE_CLASSES[(error as Error | undefined)?.name ?? ""] ?? "error";

/** The persona at `step` for this message's saga, resuming a saga failed at this step (DLQ redrive). */
async function claim(deps: StepDeps, step: SagaStep, message: StepMessage): Promise<Persona | undefined> {
  const persona = await deps.store.find(message.uid);
  if (!persona || persona.sagaId !== message.sagaId) return undefined;
  if (persona.status === "failed" && persona.failedStep === step) {
    return transition(deps.store, persona, {
      to: STEP_STATUS[step],
      remove: ["reason", "failedStep"],
      stepTimeoutMs: deps.settings.stepTimeoutMs,
    });
  }
  return persona.status === STEP_STATUS[step] ? persona : undefined;
}

async function guarded(
  deps: StepDeps,
  step: SagaStep,
  persona: Persona,
  delivery: Delivery,
  work: () => Promise<StepOutcome>,
): Promise<StepOutcome> {
  try {
    return await work();
  } catch (error) {
    if (delivery.receiveCount >= delivery.maxReceiveCount && (await failSaga(deps.store, persona, step, reasonFor(step, error)))) {
      const reason = failureClass(error);
      deps.metrics.record("SagaFailed", 1, { reason });
      logger.warn("saga failed", { reason_class: reason, error: (error as Error).name });
    }
    throw error;
  }
}

/** Step 1: aggregates → persona card → `generating_image`, then the image step's message. */
export async function runSynthesis(deps: StepDeps, message: StepMessage, delivery: Delivery): Promise<StepOutcome> {
  const persona = await claim(deps, "synthesis", message);
  if (!persona) return "skipped";
  return guarded(deps, "synthesis", persona, delivery, async () => {
    const material = await deps.surveys.material(persona.surveyId);
    // The card passes the card rules before anything is stored; a card that cannot fails
    // the saga at once (retrying would write the same card from the same numbers).
    const checked = await writeCheckedCard(deps.writer, material);
    if ("refused" in checked) {
      await failSaga(deps.store, persona, "synthesis", checked.refused);
      return "done";
    }
    const { card } = checked;
    const traits = Object.fromEntries(Object.entries(material.aggregates.traits).map(([t, s]) => [t, s.mean])) as Record<
      keyof typeof material.aggregates.traits,
      number
    >;
    const arena = material.aggregates.johari?.arena ?? [];
    const moved = await transition(deps.store, persona, {
      to: "generating_image",
      set: {
        draft: {
          card,
          systemPrompt: chatSystemPrompt(card, traits, arena),
          traits,
          arena,
          answerCount: material.aggregates.answer_count,
          writer: checked.writer,
        },
        redrives: 0,
      },
      stepTimeoutMs: deps.settings.stepTimeoutMs,
    });
    if (!moved) return "skipped";
    await deps.queues.send("image", message, stepTrace(persona));
    return "done";
  });
}

/** Step 2: portrait → media bucket → `ready`, promoting the draft to the current version. */
export async function runIllustration(deps: StepDeps, message: StepMessage, delivery: Delivery): Promise<StepOutcome> {
  const persona = await claim(deps, "image", message);
  if (!persona?.draft) return "skipped";
  const draft = persona.draft;
  return guarded(deps, "image", persona, delivery, async () => {
    const portrait = await deps.illustrator.draw(draft.card, draft.traits);
    const illustrationKey = await deps.media.putPortrait(persona.personaId, portrait.bytes, portrait.contentType);
    const previous = persona.current?.illustrationKey;
    const moved = await transition(deps.store, persona, {
      to: "ready",
      set: {
        current: {
          ...draft,
          version: persona.version,
          illustrationKey,
          illustrator: deps.illustrator.name,
          readyAt: new Date().toISOString(),
        },
      },
      remove: ["draft", "reason", "failedStep"],
    });
    if (!moved) {
      // The saga moved on (a duplicate delivery, a deletion): this portrait belongs to nothing.
      await deps.media.remove([illustrationKey]);
      return "skipped";
    }
    deps.metrics.record("SagaReady");
    const timeToReady = persona.sagaStartedAt ? Date.now() - Date.parse(persona.sagaStartedAt) : undefined;
    if (timeToReady !== undefined) deps.metrics.record("SagaTimeToReady", timeToReady);
    logger.info("saga ready", { time_to_ready_ms: timeToReady });
    try {
      // A public persona shows its new portrait; the previous version's portrait goes.
      await deps.portraits.reconcile(persona.uid);
      if (previous !== undefined && previous !== illustrationKey) await deps.media.remove([previous]);
    } catch (error) {
      // The persona is ready; its publication is set right again at the next visibility switch.
      logger.warn("portrait publication not updated", { saga_id: persona.sagaId, error: (error as Error).name });
    }
    return "done";
  });
}
