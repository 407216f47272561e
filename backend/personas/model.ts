/**
 * A user's persona as stored: one item per user (`USER#<uid>/PERSONA`) holding the saga in
 * flight and the last ready version, so a regeneration never hides the old card until the
 * new one is ready. Status changes are also kept as events (`PERSONA_EVENT#<seq>`) for the
 * live status feed. Types (and one reading of them): personas/store.ts reads and writes them.
 */
import type { Trait } from "../surveys/questions.ts";
import type { PersonaStatus, SagaStep } from "./status.ts";

export type { PersonaStatus, SagaStep } from "./status.ts";

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
  /** The request id that started the saga in flight: every message and log line of the saga carries it. */
  correlationId?: string;
  /** When the saga in flight started (for its time to ready). */
  sagaStartedAt?: string;
  draft?: PersonaDraft;
  current?: PersonaVersion;
  public?: boolean;
  /**
   * The public copy of the current portrait (`of`: the private key it copies), present only
   * while the persona is public: its key is new at every publication (ports/media.ts).
   */
  publicPortrait?: { key: string; of: string };
  updatedAt: string;
}

/** The public portrait's key, when the persona is public and its current portrait is published. */
export function publishedPortrait(persona: Persona): string | undefined {
  const published = persona.publicPortrait;
  return persona.public === true && published !== undefined && published.of === persona.current?.illustrationKey
    ? published.key
    : undefined;
}

export interface StatusEvent {
  seq: number;
  status: PersonaStatus;
  sagaId: string;
  version: number;
  reason?: string;
  at: string;
}

/** A persona with a ready version: the only kind anyone else ever sees. */
export type ReadyPersona = Persona & { current: PersonaVersion };
