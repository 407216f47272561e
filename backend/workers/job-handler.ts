/**
 * A deletion job as an SQS Lambda handler, the way step-handler.ts runs saga steps: each
 * record succeeds or fails on its own (`batchItemFailures`, Powertools batch). A job runs
 * until its share of the work is done and queues its own continuation, so a failing record
 * is retried by SQS and, after maxReceiveCount, kept in the DLQ (the sweeper also sends the
 * job again once its lease runs out).
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { LifecycleJob } from "../lifecycle/lifecycle.ts";
import { logger } from "../log.ts";

export type JobRunner = (job: LifecycleJob) => Promise<string>;

/** @example export const handler = jobHandler(lifecycle.continueJob); */
export function jobHandler(run: JobRunner) {
  const processor = new BatchProcessor(EventType.SQS);
  const record = async (r: SQSRecord) => {
    // A body that is not a job can never succeed: it fails until the DLQ keeps it.
    const job = LifecycleJob.parse(JSON.parse(r.body));
    const outcome = await run(job);
    // Which kind of deletion and how it went; never the ids (they name a person).
    logger.info("deletion job", { kind: job.kind, outcome, message_id: r.messageId });
  };
  return (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, record, processor, context ? { context } : undefined);
}
