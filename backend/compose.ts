/**
 * The composition root: from `Config`, every port once and every domain once, each bound to
 * the ports it uses. The HTTP app, the workers, the local stack, the scripts and the bench
 * all start here, so "which table, which queue, which model" is decided in one place.
 *
 *   ports      table ─ limits ─ queues ─ jobs ─ media ─ llm ─ images ─ metrics (to every domain and the models)
 *                │        │        │       │      │      │       │
 *   domains   identity  surveys ──┬┴──────────── personas │       │
 *                │        │       │       │      │    └── saga (writer ← llm, illustrator ← images)
 *                │        │       │       │      ├── chats ← llm
 *                │        │       │       │      └── social ← llm
 *                │        │       │       └── lifecycle (deletion, export) ← identity, surveys, personas, chats
 *                └─ onRenamed ─> surveys.renameOwner
 *                └─ accountDeleting ─> lifecycle.accountDeleting (no sign-up while a deletion runs)
 *                         └─ afterAnswer ─> personas.autoStartFor   (AUTO_GENERATE=1)
 *
 * Tests swap a port (`compose(config, { llm })`) or point `config.tableName` at a private
 * table: nothing below this file reads a table name or a queue URL.
 */
import type { ImageModel, LLM } from "./ai/ports.ts";
import { createProviders } from "./ai/providers.ts";
import type { Config } from "./config.ts";
import { rateLimits, type RateLimits } from "./data/rate-limit.ts";
import { Table } from "./data/table.ts";
import { chatsOn } from "./chats/chats.ts";
import { lifecycleOn, type LifecycleJob } from "./lifecycle/lifecycle.ts";
import { identityOn } from "./identity/users.ts";
import { logger } from "./log.ts";
import { personasOn, sagaOn } from "./personas/personas.ts";
import { modelIllustrator, offlineIllustrator } from "./personas/portrait.ts";
import type { SagaStep } from "./personas/status.ts";
import { modelWriter, offlineWriter } from "./personas/writer.ts";
import { mediaBucket, type Media } from "./ports/media.ts";
import { metricsFor, type Metrics } from "./ports/metrics.ts";
import { messageQueue, stepQueues, type MessageQueue, type StepQueues } from "./ports/queue.ts";
import { socialOn } from "./social/social.ts";
import { surveysOn } from "./surveys/surveys.ts";

export interface Ports {
  table: Table;
  limits: RateLimits;
  queues: StepQueues<SagaStep>;
  /** Deletion jobs too large to finish inside their request. */
  jobs: MessageQueue<LifecycleJob>;
  media: Media;
  llm: LLM;
  images: ImageModel;
  metrics: Metrics;
}

/** The real ports for `config`; the AI providers from the environment (Gemini, or offline without a key). */
export function portsFor(config: Config, overrides: Partial<Ports> = {}, env: NodeJS.ProcessEnv = process.env): Ports {
  const table = overrides.table ?? new Table(config.tableName);
  const metrics = overrides.metrics ?? metricsFor(config);
  const providers = overrides.llm && overrides.images ? undefined : createProviders(env, logger, metrics);
  return {
    table,
    limits: overrides.limits ?? rateLimits(table),
    queues: overrides.queues ?? stepQueues<SagaStep>({ synthesis: config.synthesisQueueUrl, image: config.imageQueueUrl }),
    jobs: overrides.jobs ?? messageQueue<LifecycleJob>(config.lifecycleQueueUrl),
    media:
      overrides.media ?? mediaBucket(config.mediaBucket, config.mediaBaseUrl, { publicMaxAgeSeconds: config.mediaPublicMaxAgeSeconds }),
    llm: overrides.llm ?? providers!.llm,
    images: overrides.images ?? providers!.images,
    metrics,
  };
}

/**
 * Every domain of the product, bound to its ports.
 * @example const { surveys, personas } = compose(loadConfig());
 */
export function compose(config: Config, overrides: Partial<Ports> = {}, env: NodeJS.ProcessEnv = process.env) {
  const ports = portsFor(config, overrides, env);
  const { table, limits, queues, jobs, media, llm, images, metrics } = ports;
  const surveys = surveysOn(
    table,
    limits,
    config,
    {
      // The answer that brings a survey to 3 starts the owner's first persona.
      afterAnswer: config.autoGenerate ? (survey) => personas.autoStartFor(survey) : undefined,
    },
    metrics,
  );
  const identity = identityOn(table, limits, config, {
    onRenamed: surveys.renameOwner,
    accountDeleting: (uid) => lifecycle.accountDeleting(uid),
  });
  const personas = personasOn(table, queues, media, surveys, limits, config, metrics);
  const saga = sagaOn(
    table,
    queues,
    media,
    surveys,
    {
      // Offline providers get the deterministic writer and the SVG illustrator.
      writer: llm.offline ? offlineWriter : modelWriter(llm),
      illustrator: images.offline ? offlineIllustrator : modelIllustrator(images),
    },
    config,
    metrics,
  );
  const chats = chatsOn(table, limits, llm, personas, config, metrics);
  const social = socialOn(personas, limits, llm, config);
  const lifecycle = lifecycleOn(table, limits, jobs, { identity, surveys, personas, chats }, config);
  return { config, ports, identity, surveys, personas, saga, chats, social, lifecycle };
}

export type Domains = ReturnType<typeof compose>;
