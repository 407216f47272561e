/**
 * The saga's workers (and the deletion worker) inside the local stack: long-polls the queues
 * and hands the same handlers the Lambda functions run real SQS-shaped events, then does what the Lambda
 * SQS integration does with the answer: deletes the records that succeeded, leaves the
 * failures for redelivery (after `retryDelaySeconds` instead of the full visibility timeout,
 * so a local retry takes seconds), and lets SQS move them to the DLQ after maxReceiveCount.
 * A timer runs the sweeper as the schedule does in AWS (sagas, then lost deletion jobs).
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import { logger } from "../log.ts";
import type { Domains } from "../compose.ts";
import type { Lifecycle } from "../lifecycle/lifecycle.ts";
import type { Saga } from "../personas/personas.ts";
import { sqsClient, sqsPollingClient } from "../ports/aws.ts";
import type { Metrics } from "../ports/metrics.ts";
import type { StepRunner } from "../workers/step-handler.ts";
import { jobHandler } from "../workers/job-handler.ts";
import { stepHandler } from "../workers/step-handler.ts";
import { sweepHandler } from "../workers/sweep-handler.ts";

export interface LocalWorkerOptions {
  retryDelaySeconds?: number;
  sweepIntervalMs?: number;
  /** Long-poll wait; short in tests so stopping is quick. */
  waitTimeSeconds?: number;
  /**
   * At most this many messages of each queue in flight, each handled as a batch of one: a
   * Lambda with batch size 1 and maximum concurrency N (the benchmark's model-call cap).
   * Unset: one poller per queue taking batches of up to 10.
   */
  maxInFlight?: number;
}

/** Message attributes as Lambda's SQS event spells them. */
function toEventAttributes(attributes: Message["MessageAttributes"] = {}): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, a]) => [
      name,
      { dataType: a.DataType ?? "String", stringValue: a.StringValue, stringListValues: [], binaryListValues: [] },
    ]),
  );
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: toEventAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: process.env.AWS_REGION ?? "us-east-1",
  };
}

type PollOptions = Required<Omit<LocalWorkerOptions, "maxInFlight">> & { batchSize: number };

async function pollQueue(
  queueUrl: string,
  handle: (event: SQSEvent) => Promise<SQSBatchResponse>,
  options: PollOptions,
  signal: AbortSignal,
) {
  const sqs = sqsClient();
  let queueArn: string | undefined;
  while (!signal.aborted) {
    try {
      queueArn ??=
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes?.QueueArn ??
        queueUrl;
      await pollOnce(queueUrl, queueArn, handle, options, signal);
    } catch (error) {
      if (signal.aborted) return;
      // The queue is unreachable (fauxqs restarting): wait and poll again; the loop never ends on its own.
      logger.warn("local worker could not reach its queue; retrying", { queue: queueUrl, error: (error as Error).message });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** One receive, the handler, then what the Lambda SQS integration does with its answer. */
async function pollOnce(
  queueUrl: string,
  queueArn: string,
  handle: (event: SQSEvent) => Promise<SQSBatchResponse>,
  options: PollOptions,
  signal: AbortSignal,
) {
  const sqs = sqsClient();
  const received = await sqsPollingClient().send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: options.batchSize,
      WaitTimeSeconds: options.waitTimeSeconds,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    }),
    { abortSignal: signal },
  );
  const messages: Message[] = received.Messages ?? [];
  if (messages.length === 0) return;
  const records = messages.map((m) => toRecord(m, queueArn));
  let failed: Set<string>;
  try {
    failed = new Set((await handle({ Records: records })).batchItemFailures.map((f) => f.itemIdentifier));
  } catch {
    failed = new Set(records.map((r) => r.messageId)); // the whole batch failed
  }
  const done = records.filter((r) => !failed.has(r.messageId));
  if (done.length) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
  }
  for (const r of records.filter((r) => failed.has(r.messageId))) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: r.receiptHandle,
        VisibilityTimeout: options.retryDelaySeconds,
      }),
    );
  }
}

export interface LocalSaga {
  saga: Saga;
  queueUrls: { synthesis: string; image: string; lifecycle?: string };
  maxReceiveCount: number;
  metrics: Metrics;
  /** Deletion jobs, when the composition has a lifecycle queue. */
  lifecycle?: Pick<Lifecycle, "continueJob" | "sweep">;
}

/** The saga of a composition (and its deletion jobs), with the queues its workers poll. */
export function localSaga({
  saga,
  lifecycle,
  config,
  ports,
}: Pick<Domains, "saga" | "config" | "ports"> & Partial<Pick<Domains, "lifecycle">>): LocalSaga {
  return {
    saga,
    lifecycle,
    queueUrls: { synthesis: config.synthesisQueueUrl, image: config.imageQueueUrl, lifecycle: config.lifecycleQueueUrl || undefined },
    maxReceiveCount: config.maxReceiveCount,
    metrics: ports.metrics,
  };
}

export function startLocalWorkers(
  { saga, lifecycle, queueUrls, maxReceiveCount, metrics }: LocalSaga,
  opts: LocalWorkerOptions = {},
): { stop(): Promise<void> } {
  const { maxInFlight, ...rest } = opts;
  const options = { retryDelaySeconds: 2, sweepIntervalMs: 30_000, waitTimeSeconds: 20, batchSize: maxInFlight ? 1 : 10, ...rest };
  const controller = new AbortController();
  // One handler per poller: a batch processor keeps the state of the batch it is working on.
  const pollers = (queueUrl: string, step: "synthesis" | "image", run: StepRunner) =>
    Array.from({ length: maxInFlight ?? 1 }, () =>
      pollQueue(queueUrl, stepHandler(step, run, maxReceiveCount, metrics), options, controller.signal),
    );
  const loops = [...pollers(queueUrls.synthesis, "synthesis", saga.synthesis), ...pollers(queueUrls.image, "image", saga.illustration)];
  if (lifecycle && queueUrls.lifecycle)
    loops.push(pollQueue(queueUrls.lifecycle, jobHandler(lifecycle.continueJob), { ...options, batchSize: 10 }, controller.signal));
  // As the schedule runs the sweeper's Lambda; an idle sweep says nothing here.
  const sweep = sweepHandler(saga, metrics, { logIdle: false, lifecycle });
  const sweeper = setInterval(() => {
    sweep().catch((error: Error) => logger.warn("sweep failed", { error: error.name }));
  }, options.sweepIntervalMs);
  return {
    async stop() {
      clearInterval(sweeper);
      controller.abort();
      await Promise.allSettled(loops);
    },
  };
}
