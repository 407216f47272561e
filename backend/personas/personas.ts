/**
 * The persona domain bound to its table, queues, media and the survey domain: what its
 * owner asks (view, start, status events), who else may see it, and the saga's work for the
 * workers (steps, sweeper). Queries only read; commands move the saga through saga.ts.
 */
import type { Config } from "../config.ts";
import { PersonaId } from "../data/ids.ts";
import type { Table } from "../data/table.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { logContext, logger, withLogContext } from "../log.ts";
import type { Media } from "../ports/media.ts";
import { noMetrics, type Metrics } from "../ports/metrics.ts";
import type { StepMessage, StepQueues } from "../ports/queue.ts";
import { MIN_ANSWERS_FOR_AGGREGATES } from "../surveys/aggregate.ts";
import type { Survey, Surveys } from "../surveys/surveys.ts";
import type { Persona, PersonaVersion, StatusEvent } from "./model.ts";
import type { Illustrator } from "./portrait.ts";
import { sagaLogContext, startSaga, stepTrace } from "./saga.ts";
import type { SagaStep } from "./status.ts";
import { runIllustration, runSynthesis, type Delivery, type StepOutcome } from "./steps.ts";
import { personaStore } from "./store.ts";
import { sweep, type SweepReport } from "./sweeper.ts";
import type { PersonaWriter } from "./writer.ts";

export type PersonaSettings = Pick<Config, "stepTimeoutMs" | "sagaTimeoutMs" | "maxRedrives">;

export interface PersonaView {
  persona_id: string | null;
  status: Persona["status"];
  reason: string | null;
  answers: number;
  answers_needed: number;
  card: (PersonaVersion["card"] & { version: number }) | null;
  illustration_url: string | null;
  saga_id: string | null;
  version: number;
  updated_at: string | null;
  generated_by: { writer: string; illustrator: string } | null;
}

/** The one message for unknown, private and unready personas alike: a caller can never tell them apart. */
export const NO_SUCH_PERSONA = "No such public persona";

/**
 * Who may see a persona: its owner, always; anyone else only once it is public and has a
 * ready version. Private by default (`public` absent).
 */
function visible(persona: Persona, viewerUid: string | undefined): boolean {
  return persona.uid === viewerUid || (persona.public === true && persona.current !== undefined);
}

/** @example const personas = personasOn(table, queues, media, surveys, config, metrics); */
export function personasOn(
  table: Table,
  queues: StepQueues<SagaStep>,
  media: Pick<Media, "url">,
  surveys: Pick<Surveys, "openOf">,
  settings: PersonaSettings,
  metrics: Metrics = noMetrics,
) {
  const store = personaStore(table);

  /**
   * Starts the saga and sends step 1. If the send fails the saga is still recorded, and the
   * sweeper re-sends the message once the step's deadline passes: the command is not lost.
   */
  async function begin(
    uid: string,
    survey: Survey | undefined,
    existing: Persona | undefined,
    options: { onlyIfNew?: boolean } = {},
  ): Promise<Persona> {
    const started = await startSaga(
      store,
      settings,
      { uid, surveyId: survey?.surveyId ?? "", answerCount: survey?.answerCount ?? 0, publishedCount: survey?.publishedCount ?? 0 },
      existing,
      // The request that starts the saga is its origin: its id goes with every message.
      { ...options, correlationId: logContext()?.correlation_id },
    );
    metrics.record("SagaStarted");
    const message: StepMessage = { uid, sagaId: started.sagaId };
    await withLogContext(sagaLogContext(started), async () => {
      logger.info("saga started", {});
      try {
        await queues.send("synthesis", message, stepTrace(started));
      } catch (error) {
        logger.warn("step 1 message not sent; the sweeper will re-drive it", { error: (error as Error).name });
      }
    });
    return started;
  }

  return {
    /** The persona as stored, strongly consistent. */
    get: (uid: string): Promise<Persona | undefined> => store.find(uid),

    /** Query only: the owner's persona with the answers so far. */
    async view(uid: string): Promise<PersonaView> {
      const [persona, survey] = await Promise.all([store.find(uid), surveys.openOf(uid)]);
      const answers = survey?.answerCount ?? 0;
      const current = persona?.current;
      return {
        persona_id: persona?.personaId ?? null,
        status: persona?.status ?? "pending",
        reason: persona?.reason ?? null,
        answers,
        answers_needed: Math.max(0, MIN_ANSWERS_FOR_AGGREGATES - answers),
        card: current ? { ...current.card, version: current.version } : null,
        illustration_url: current ? media.url(current.illustrationKey) : null,
        saga_id: persona?.sagaId ?? null,
        version: current?.version ?? 0,
        updated_at: persona?.updatedAt ?? null,
        generated_by: current ? { writer: current.writer, illustrator: current.illustrator } : null,
      };
    },

    /** The command: start (or regenerate) the owner's persona from their open survey. */
    async start(uid: string): Promise<Persona> {
      const [persona, survey] = await Promise.all([store.find(uid), surveys.openOf(uid)]);
      return begin(uid, survey, persona);
    },

    /**
     * `AUTO_GENERATE=1`: the answer that brings a survey to 3 starts the owner's first saga,
     * from the survey as the answer left it (no second read). Never fails the answer that
     * triggered it (that answer is stored): an existing persona or a running saga is left alone.
     */
    async autoStartFor(survey: Survey): Promise<void> {
      if ((survey.publishedCount ?? 0) < MIN_ANSWERS_FOR_AGGREGATES) return;
      try {
        await begin(survey.ownerUid, survey, await store.find(survey.ownerUid), { onlyIfNew: true });
      } catch (error) {
        if (error instanceof ConflictError) return;
        logger.warn("automatic persona start failed", { survey_id: survey.surveyId, error: (error as Error).name });
      }
    },

    /** Status events after `afterSeq`, oldest first (the live feed). */
    statusEventsAfter: (uid: string, afterSeq: number): Promise<StatusEvent[]> => store.eventsAfter(uid, afterSeq),

    /**
     * The persona `ref` names (`me`: the viewer's own) as `viewerUid` may see it; anything
     * else — unknown, private, not ready — is the same NotFoundError. The viewer's own comes
     * back in any state: whether it must be ready is the caller's rule.
     */
    async visibleTo(viewerUid: string | undefined, ref: string): Promise<Persona> {
      // An id that cannot be one we issued names nothing: no read for it.
      const uid = ref === "me" ? viewerUid : PersonaId.safeParse(ref).success ? await store.ownerOf(ref) : undefined;
      const persona = uid === undefined ? undefined : await store.find(uid);
      if (!persona || !visible(persona, viewerUid)) throw new NotFoundError(NO_SUCH_PERSONA);
      return persona;
    },

    /** Makes the owner's persona public or private; it need not be ready (its card shows once it is). */
    async setVisibility(uid: string, isPublic: boolean): Promise<{ personaId: string; public: boolean }> {
      const persona = await store.setPublic(uid, isPublic);
      if (!persona) throw new NotFoundError("You have no persona yet: start one with POST /v1/personas/me");
      return { personaId: persona.personaId, public: isPublic };
    },
  };
}

export type Personas = ReturnType<typeof personasOn>;

/**
 * The saga's work, for the workers and the local stack: the two steps and the sweeper.
 * @example const saga = sagaOn(table, queues, media, surveys, { writer, illustrator }, config, metrics);
 */
export function sagaOn(
  table: Table,
  queues: StepQueues<SagaStep>,
  media: Pick<Media, "putPortrait">,
  surveys: Pick<Surveys, "material">,
  models: { writer: PersonaWriter; illustrator: Illustrator },
  settings: PersonaSettings,
  metrics: Metrics = noMetrics,
) {
  const store = personaStore(table);
  const steps = { store, surveys, queues, media, ...models, settings, metrics };
  return {
    synthesis: (message: StepMessage, delivery: Delivery): Promise<StepOutcome> => runSynthesis(steps, message, delivery),
    illustration: (message: StepMessage, delivery: Delivery): Promise<StepOutcome> => runIllustration(steps, message, delivery),
    sweep: (now?: Date): Promise<SweepReport> => sweep({ store, queues, settings, metrics }, now),
  };
}

export type Saga = ReturnType<typeof sagaOn>;
