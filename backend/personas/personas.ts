/** The persona as its owner asks about it and starts it: the queries and commands of the API. */
import { mediaUrl } from "../ports/media.ts";
import type { StepMessage } from "../ports/queue.ts";
import { logger } from "../log.ts";
import { MIN_ANSWERS_FOR_AGGREGATES } from "../surveys/aggregate.ts";
import { getSurvey, openSurveyOf } from "../surveys/surveys.ts";
import { ConflictError } from "../errors.ts";
import { getPersona, type Persona } from "./model.ts";
import { startSaga, type SagaSettings } from "./saga.ts";

export interface PersonaDeps {
  settings: SagaSettings & { synthesisQueueUrl: string; mediaBaseUrl: string };
  sendStep: (queueUrl: string, message: StepMessage) => Promise<void>;
}

export interface PersonaView {
  persona_id: string | null;
  status: Persona["status"];
  reason: string | null;
  answers: number;
  answers_needed: number;
  card: (NonNullable<Persona["current"]>["card"] & { version: number }) | null;
  illustration_url: string | null;
  saga_id: string | null;
  version: number;
  updated_at: string | null;
  generated_by: { writer: string; illustrator: string } | null;
}

/** Query only: reads, never writes. */
export async function personaView(deps: PersonaDeps, uid: string): Promise<PersonaView> {
  const { tableName } = deps.settings;
  const [persona, survey] = await Promise.all([getPersona(tableName, uid), openSurveyOf(tableName, uid)]);
  const answers = survey?.answerCount ?? 0;
  const current = persona?.current;
  return {
    persona_id: persona?.personaId ?? null,
    status: persona?.status ?? "pending",
    reason: persona?.reason ?? null,
    answers,
    answers_needed: Math.max(0, MIN_ANSWERS_FOR_AGGREGATES - answers),
    card: current ? { ...current.card, version: current.version } : null,
    illustration_url: current ? mediaUrl(deps.settings.mediaBaseUrl, current.illustrationKey) : null,
    saga_id: persona?.sagaId ?? null,
    version: current?.version ?? 0,
    updated_at: persona?.updatedAt ?? null,
    generated_by: current ? { writer: current.writer, illustrator: current.illustrator } : null,
  };
}

/**
 * Starts the saga and sends step 1. If the send fails the saga is still recorded, and the
 * sweeper re-sends the message once the step's deadline passes: the command is not lost.
 */
export async function requestPersona(deps: PersonaDeps, uid: string, options: { onlyIfNew?: boolean } = {}): Promise<Persona> {
  const { tableName } = deps.settings;
  const [persona, survey] = await Promise.all([getPersona(tableName, uid), openSurveyOf(tableName, uid)]);
  const started = await startSaga(deps.settings, { uid, surveyId: survey?.surveyId ?? "", answerCount: survey?.answerCount ?? 0 }, persona, options);
  try {
    await deps.sendStep(deps.settings.synthesisQueueUrl, { uid, sagaId: started.sagaId });
  } catch (error) {
    logger.warn("step 1 message not sent; the sweeper will re-drive it", { saga_id: started.sagaId, error: (error as Error).name });
  }
  return started;
}

/**
 * `AUTO_GENERATE=1`: the answer that brings a survey to 3 starts the owner's first saga.
 * Never fails the answer that triggered it (that answer is already stored): a persona that
 * exists already, or a saga already running, is simply left alone.
 */
export async function autoStartPersona(deps: PersonaDeps, surveyId: string): Promise<void> {
  try {
    const survey = await getSurvey(deps.settings.tableName, surveyId);
    if (survey.answerCount < MIN_ANSWERS_FOR_AGGREGATES) return;
    await requestPersona(deps, survey.ownerUid, { onlyIfNew: true });
  } catch (error) {
    if (error instanceof ConflictError) return;
    logger.warn("automatic persona start failed", { survey_id: surveyId, error: (error as Error).name });
  }
}
