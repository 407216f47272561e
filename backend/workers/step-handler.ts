/**
 * A saga step as an SQS Lambda handler: each record succeeds or fails on its own and the
 * failures are returned as `batchItemFailures` (Powertools batch), so one bad message never
 * makes SQS redeliver its neighbours. A batch where every record failed is an explicit error.
 *
 * Each record runs in the log context of its saga — the origin its message attributes carry
 * (`correlation_id`), the saga, its version, the step — so every line it causes, down to a
 * model retry, can be found with the request that started the saga. The step's metrics are
 * written when the batch ends.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger, SERVICES, withLogContext } from "../log.ts";
import type { Delivery, StepOutcome } from "../personas/steps.ts";
import { noMetrics, type Metrics } from "../ports/metrics.ts";
import { StepMessage, traceOf } from "../ports/queue.ts";

export type StepRunner = (message: StepMessage, delivery: Delivery) => Promise<StepOutcome>;

/** @example export const handler = stepHandler("image", saga.illustration, config.maxReceiveCount, ports.metrics); */
export function stepHandler(step: "synthesis" | "image", run: StepRunner, maxReceiveCount: number, metrics: Metrics = noMetrics) {
  const processor = new BatchProcessor(EventType.SQS);
  const service = SERVICES[step];
  const record = async (r: SQSRecord) => {
    const trace = traceOf(r);
    const delivery = { receiveCount: Number(r.attributes.ApproximateReceiveCount ?? 1), maxReceiveCount };
    const context = { service, step, correlation_id: trace.correlationId, persona_version: trace.personaVersion };
    await withLogContext(context, async () => {
      // A body that is not a step message can never succeed: it fails until the DLQ keeps it.
      const message = StepMessage.parse(JSON.parse(r.body));
      await withLogContext({ saga_id: message.sagaId }, async () => {
        const started = performance.now();
        const attempt = { message_id: r.messageId, receive_count: delivery.receiveCount };
        try {
          const outcome = await run(message, delivery);
          if (outcome === "done") metrics.record("SagaStepDuration", Math.round(performance.now() - started), { step });
          logger.info("saga step", { outcome, ...attempt });
        } catch (error) {
          // SQS delivers it again after its visibility timeout (the DLQ after the last attempt).
          logger.warn("saga step failed", { ...attempt, error: `${(error as Error).name}: ${(error as Error).message}` });
          throw error;
        }
      });
    });
  };
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    try {
      return await processPartialResponse(event, record, processor, context ? { context } : undefined);
    } finally {
      metrics.flush(service);
    }
  };
}
