/**
 * What every saga entry point (the two queue workers, the sweeper, the local stack) needs,
 * built once per process from configuration: settings, providers and ports.
 */
import { createProviders } from "../ai/providers.ts";
import { loadConfig, type Config } from "../config.ts";
import type { StepDeps } from "../personas/steps.ts";
import type { SweepDeps } from "../personas/sweeper.ts";
import { modelIllustrator, offlineIllustrator } from "../personas/portrait.ts";
import { modelWriter, offlineWriter } from "../personas/writer.ts";
import { putPortrait } from "../ports/media.ts";
import { queueBacklog, sendStep } from "../ports/queue.ts";

export interface SagaRuntime {
  config: Config;
  steps: StepDeps;
  sweep: SweepDeps;
}

export function sagaRuntime(config: Config = loadConfig(), env: NodeJS.ProcessEnv = process.env): SagaRuntime {
  const { llm, images } = createProviders(env);
  const settings = {
    tableName: config.tableName,
    stepTimeoutMs: config.stepTimeoutMs,
    sagaTimeoutMs: config.sagaTimeoutMs,
    synthesisQueueUrl: config.synthesisQueueUrl,
    imageQueueUrl: config.imageQueueUrl,
    mediaBucket: config.mediaBucket,
    maxRedrives: config.maxRedrives,
  };
  return {
    config,
    steps: {
      settings,
      // Offline providers get the deterministic writer and the SVG illustrator.
      writer: llm.offline ? offlineWriter : modelWriter(llm),
      illustrator: images.offline ? offlineIllustrator : modelIllustrator(images),
      sendStep,
      putPortrait,
    },
    sweep: { settings, sendStep, queueBacklog },
  };
}
