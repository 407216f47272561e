/**
 * The persona domain bound to its table, queues, media and the survey domain: what its
 * owner asks (view, start, status events), who else may see it, and the saga's work for the
 * workers (steps, sweeper). Queries only read; commands move the saga through saga.ts.
 */
import type { Config } from "../config.ts";
import { PersonaId } from "../data/ids.ts";
import type { RateLimits } from "../data/rate-limit.ts";
import type { Table } from "../data/table.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { logContext, logger, withLogContext } from "../log.ts";
import type { Media } from "../ports/media.ts";
import { noMetrics, type Metrics } from "../ports/metrics.ts";
import type { StepMessage, StepQueues } from "../ports/queue.ts";
import { MIN_ANSWERS_FOR_AGGREGATES } from "../surveys/aggregate.ts";
import type { Survey, Surveys } from "../surveys/surveys.ts";
import { publishedPortrait, type Persona, type PersonaDraft, type PersonaVersion, type StatusEvent } from "./model.ts";
import { portraitPublisher, type Illustrator } from "./portrait.ts";
import { sagaLogContext, startSaga, stepTrace } from "./saga.ts";
import { isRunning, type SagaStep } from "./status.ts";
import { runIllustration, runSynthesis, type Delivery, type StepOutcome } from "./steps.ts";
import { personaLifecycleStore } from "./lifecycle-store.ts";
import { personaStore } from "./store.ts";
import { sweep, type SweepReport } from "./sweeper.ts";
import type { PersonaWriter } from "./writer.ts";

export type PersonaSettings = Pick<Config, "stepTimeoutMs" | "sagaTimeoutMs" | "maxRedrives" | "personaStartsPerDay" | "publicBaseUrl">;

/** The owner's own portrait while it is private: served to them only, through the API. */
export const OWN_PORTRAIT_PATH = "/api/v1/personas/me/portrait";

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
 * ready version. Private by default (`public` absent). Kept in step with store.ts `stillChattable`.
 */
function visible(persona: Persona, viewerUid: string | undefined): boolean {
  return persona.uid === viewerUid || (persona.public === true && persona.current !== undefined);
}

/** @example const personas = personasOn(table, queues, media, surveys, limits, config, metrics); */
export function personasOn(
  table: Table,
  queues: StepQueues<SagaStep>,
  media: Media,
  surveys: Pick<Surveys, "openOf" | "currentById">,
  limits: RateLimits,
  settings: PersonaSettings,
  metrics: Metrics = noMetrics,
) {
  const store = personaStore(table);
  const life = personaLifecycleStore(table);
  const portraits = portraitPublisher({ find: store.find, setPublicPortrait: life.setPublicPortrait }, media);
  const startsPerDay = {
    scope: "persona-start",
    name: "persona_starts_per_day",
    limit: settings.personaStartsPerDay,
    windowSeconds: 86_400,
  };

  /**
   * Starts the saga and sends step 1. If the send fails the saga is still recorded, and the
   * sweeper re-sends the message once the step's deadline passes: the command is not lost.
   */
  async function begin(
    uid: string,
    /** The survey as read, or only its id when the start's transaction checks its answers. */
    survey: Survey | { surveyId: string } | undefined,
    existing: Persona | undefined,
    options: { onlyIfNew?: boolean } = {},
  ): Promise<Persona> {
    const read = survey && "answerCount" in survey ? survey : undefined;
    const started = await startSaga(
      store,
      settings,
      { uid, surveyId: survey?.surveyId ?? "", answerCount: read?.answerCount ?? 0, publishedCount: read?.publishedCount ?? 0 },
      existing,
      // The request that starts the saga is its origin: its id goes with every message.
      {
        ...options,
        correlationId: logContext()?.correlation_id,
        limit: limits.increment(startsPerDay, { user: uid }),
        checkSurvey: survey !== undefined && read === undefined,
      },
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
      // One request: the pointer carries the survey's answer count (docs/privacy.md: the owner
      // sees at once how many answers exist). A pointer from before that copy: the survey, read.
      const { persona, openSurveyId, answerCount } = await store.findWithOpenSurvey(uid);
      const answers = openSurveyId === undefined ? 0 : (answerCount ?? (await surveys.currentById(openSurveyId))?.answerCount ?? 0);
      const current = persona?.current;
      return {
        persona_id: persona?.personaId ?? null,
        status: persona?.status ?? "pending",
        reason: persona?.reason ?? null,
        answers,
        answers_needed: Math.max(0, MIN_ANSWERS_FOR_AGGREGATES - answers),
        card: current ? { ...current.card, version: current.version } : null,
        illustration_url: current ? portraitUrl(persona!) : null,
        saga_id: persona?.sagaId ?? null,
        version: current?.version ?? 0,
        updated_at: persona?.updatedAt ?? null,
        generated_by: current ? { writer: current.writer, illustrator: current.illustrator } : null,
      };
    },

    /** The command: start (or regenerate) the owner's persona from their open survey. */
    async start(uid: string, cleared: () => Promise<unknown> = async () => {}): Promise<Persona> {
      // One read (the persona and which survey is open), beside `cleared` (the caller's account
      // check: nothing is written before it holds); the survey's answers are checked by the
      // start's transaction. A running saga is refused before it, as too few answers were:
      // that refusal reads the survey, to say which came first.
      // Both must hold before anything is written; which refusal the caller hears first is
      // requiredAlongside's (the account check's, awaited on every path).
      const [, { persona, openSurveyId }] = await Promise.all([cleared(), store.findWithOpenSurvey(uid)]);
      if (openSurveyId === undefined) return begin(uid, undefined, persona);
      if (persona && isRunning(persona.status)) return begin(uid, await surveys.openOf(uid), persona);
      return begin(uid, { surveyId: openSurveyId }, persona);
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

    /**
     * `visibleTo` for a persona whose owner is known already (a chat names both): one read, no
     * lookup of its public id. `stillChattable`: the same rule (ready, too) as conditions for
     * the caller's transaction, so what it writes holds only while the persona does.
     */
    async visibleAt(viewerUid: string, ownerUid: string, personaId: string): Promise<Persona> {
      const persona = await store.find(ownerUid);
      if (!persona || persona.personaId !== personaId || !visible(persona, viewerUid)) throw new NotFoundError(NO_SUCH_PERSONA);
      return persona;
    },
    stillChattable: (viewerUid: string, ownerUid: string, personaId: string) => store.stillChattable(ownerUid, personaId, viewerUid),

    /**
     * Makes the owner's persona public or private; it need not be ready (its card shows once
     * it is). Going private deletes the portrait's public copy before answering, so its URL
     * is dead from then on; going public publishes a copy under a new key.
     */
    async setVisibility(uid: string, isPublic: boolean): Promise<{ personaId: string; public: boolean }> {
      const persona = await store.setPublic(uid, isPublic);
      if (!persona) throw new NotFoundError("You have no persona yet: start one with POST /v1/personas/me");
      await portraits.reconcile(uid);
      return { personaId: persona.personaId, public: isPublic };
    },

    /**
     * For a deletion, at once: the card is 404 from now on and the portrait's public copy is
     * gone (its URL answers 404; caches may hold it up to MEDIA_PUBLIC_MAX_AGE_SECONDS).
     */
    async hide(uid: string): Promise<void> {
      const persona = await store.find(uid);
      if (!persona) return;
      await life.hide(persona);
      await portraits.reconcile(uid);
    },

    /** The owner's persona for their export: state, the ready version and any draft, recent status events. */
    async exportOf(uid: string) {
      const persona = await store.find(uid);
      if (!persona) return null;
      const version = (v: PersonaDraft & Partial<PersonaVersion>) => ({
        version: v.version ?? persona.version,
        card: v.card,
        chat_system_prompt: v.systemPrompt,
        traits: v.traits,
        johari_arena: v.arena,
        answer_count: v.answerCount,
        written_by: v.writer,
        drawn_by: v.illustrator ?? null,
        ready_at: v.readyAt ?? null,
      });
      return {
        persona_id: persona.personaId,
        status: persona.status,
        public: persona.public === true,
        reason: persona.reason ?? null,
        updated_at: persona.updatedAt,
        // Only the latest ready version is kept: a regeneration replaces it once the new one is ready.
        versions: [persona.current, persona.draft].filter((v) => v !== undefined).map(version),
        status_events: (await store.eventsAfter(uid, 0)).map((e) => ({
          event_id: e.seq,
          status: e.status,
          saga_id: e.sagaId,
          version: e.version,
          reason: e.reason ?? null,
          at: e.at,
        })),
      };
    },

    /** The owner's own portrait (public or not), for the authenticated route. */
    async ownPortrait(uid: string): Promise<{ bytes: Uint8Array; contentType: string }> {
      const key = (await store.find(uid))?.current?.illustrationKey;
      const portrait = key === undefined ? undefined : await media.read(key);
      if (!portrait) throw new NotFoundError("Your persona has no portrait yet");
      return portrait;
    },

    /**
     * Deletes up to `limit` items of the owner's persona (only if it is still `personaId`,
     * when given): at once its public id and public portrait (cards 404), then every portrait
     * object, its status events, the persona last. `done` once it is all gone. Chats with it
     * are the chat domain's (lifecycle closes them).
     */
    async forget(uid: string, limit: number, personaId?: string): Promise<{ deleted: number; done: boolean }> {
      const persona = await store.find(uid);
      if (!persona || (personaId !== undefined && persona.personaId !== personaId)) return { deleted: 0, done: true };
      await life.hide(persona);
      const objects = await media.removePersona(persona.personaId);
      // A portrait made before keys carried the persona id (content-addressed at the bucket root).
      const legacy = [persona.current?.illustrationKey].filter(
        (key): key is string => key !== undefined && !key.includes(persona.personaId),
      );
      await media.remove(legacy);
      const events = await life.forgetEvents(uid, limit);
      if (!events.done) return { deleted: objects + events.deleted, done: false };
      await life.forget(persona);
      return { deleted: objects + legacy.length + events.deleted + 2, done: true };
    },
  };

  /** The owner's view of their portrait: the public copy when published, else the authenticated route. */
  function portraitUrl(persona: Persona): string {
    const published = publishedPortrait(persona);
    return published === undefined ? `${settings.publicBaseUrl}${OWN_PORTRAIT_PATH}` : media.url(published);
  }
}

export type Personas = ReturnType<typeof personasOn>;

/**
 * The saga's work, for the workers and the local stack: the two steps and the sweeper.
 * @example const saga = sagaOn(table, queues, media, surveys, { writer, illustrator }, config, metrics);
 */
export function sagaOn(
  table: Table,
  queues: StepQueues<SagaStep>,
  media: Pick<Media, "putPortrait" | "publish" | "remove">,
  surveys: Pick<Surveys, "material">,
  models: { writer: PersonaWriter; illustrator: Illustrator },
  settings: PersonaSettings,
  metrics: Metrics = noMetrics,
) {
  const store = personaStore(table);
  const life = personaLifecycleStore(table);
  const portraits = portraitPublisher({ find: store.find, setPublicPortrait: life.setPublicPortrait }, media);
  const steps = { store, surveys, queues, media, portraits, ...models, settings, metrics };
  return {
    synthesis: (message: StepMessage, delivery: Delivery): Promise<StepOutcome> => runSynthesis(steps, message, delivery),
    illustration: (message: StepMessage, delivery: Delivery): Promise<StepOutcome> => runIllustration(steps, message, delivery),
    sweep: (now?: Date): Promise<SweepReport> => sweep({ store, queues, settings, metrics }, now),
  };
}

export type Saga = ReturnType<typeof sagaOn>;
