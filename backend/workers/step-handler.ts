/**
 * A saga step as an SQS Lambda handler: each record succeeds or fails on its own and the
 * failures are returned as `batchItemFailures` (Powertools batch), so one bad message never
 * makes SQS redeliver its neighbours. A batch where every record failed is an explicit error.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger } from "../log.ts";
import type { Delivery, StepOutcome } from "../personas/steps.ts";
import { StepMessage } from "../ports/queue.ts";

export type StepRunner = (message: StepMessage, delivery: Delivery) => Promise<StepOutcome>;

/** @example export const handler = stepHandler("image", saga.illustration, config.maxReceiveCount); */
export function stepHandler(step: string, run: StepRunner, maxReceiveCount: number) {
  const processor = new BatchProcessor(EventType.SQS);
  const record = async (r: SQSRecord) => {
    // A body that is not a step message can never succeed: it fails until the DLQ keeps it.
    const message = StepMessage.parse(JSON.parse(r.body));
    const delivery = { receiveCount: Number(r.attributes.ApproximateReceiveCount ?? 1), maxReceiveCount };
    const outcome = await run(message, delivery);
    logger.info("saga step", { step, outcome, saga_id: message.sagaId, message_id: r.messageId, receive_count: delivery.receiveCount });
  };
  return (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, record, processor, context ? { context } : undefined);
}
