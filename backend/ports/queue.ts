/**
 * The saga's step queues as a port, bound to their URLs once by the composition root. One
 * message per step; the body names the saga, not the data. Its message attributes say where
 * it came from (`correlation_id`: the request that started the saga; `persona_version`), so
 * every worker's log lines name the same origin; they travel with re-drives and redrives.
 */
import type { MessageAttributeValue, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { z } from "zod";

/**
 * The SQS client, loaded on first send: of the API's requests only a persona start sends,
 * so a cold start does not parse it (docs/decisions.md, "Performance round two (issue 18)").
 */
let sqs: Promise<{ client: SQSClient; sdk: typeof import("@aws-sdk/client-sqs") }> | undefined;
function loadSqs() {
  return (sqs ??= Promise.all([import("@aws-sdk/client-sqs"), import("./aws.ts")]).then(([sdk, aws]) => ({
    sdk,
    client: aws.sqsClient(),
  })));
}

export const StepMessage = z.strictObject({ uid: z.string().min(1), sagaId: z.string().min(1) });
export type StepMessage = z.infer<typeof StepMessage>;

/** What a step message says about its origin, as message attributes. */
export interface StepTrace {
  correlationId: string;
  personaVersion: number;
}

function traceAttributes(trace: StepTrace): Record<string, MessageAttributeValue> {
  return {
    correlation_id: { DataType: "String", StringValue: trace.correlationId },
    persona_version: { DataType: "Number", StringValue: String(trace.personaVersion) },
  };
}

/** The trace of a step message as Lambda's SQS event hands it over; absent on messages sent without one. */
export function traceOf(record: Pick<SQSRecord, "messageAttributes">): Partial<StepTrace> {
  const attributes = record.messageAttributes ?? {};
  const version = Number(attributes.persona_version?.stringValue);
  return {
    correlationId: attributes.correlation_id?.stringValue,
    personaVersion: Number.isInteger(version) ? version : undefined,
  };
}

/** A set of named queues, e.g. `{ synthesis, image }`. */
export interface StepQueues<Step extends string = string> {
  send(step: Step, message: StepMessage, trace: StepTrace): Promise<void>;
  /** Messages waiting for a consumer (visible; not those in flight). Approximate, as SQS says. */
  backlog(step: Step): Promise<number>;
}

/** @example const queues = stepQueues({ synthesis: config.synthesisQueueUrl, image: config.imageQueueUrl }); */
export function stepQueues<Step extends string>(urls: Record<Step, string>): StepQueues<Step> {
  return {
    async send(step, message, trace) {
      const { client, sdk } = await loadSqs();
      await client.send(
        new sdk.SendMessageCommand({
          QueueUrl: urls[step],
          MessageBody: JSON.stringify(message),
          MessageAttributes: traceAttributes(trace),
        }),
      );
    },
    async backlog(step) {
      const { client, sdk } = await loadSqs();
      const { Attributes = {} } = await client.send(
        new sdk.GetQueueAttributesCommand({ QueueUrl: urls[step], AttributeNames: ["ApproximateNumberOfMessages"] }),
      );
      return Number(Attributes.ApproximateNumberOfMessages ?? 0);
    },
  };
}

/** A queue of JSON messages of one kind (the lifecycle's deletion jobs). */
export interface MessageQueue<T> {
  /** `delaySeconds` (at most 900, SQS's limit) holds the message back before anyone receives it. */
  send(message: T, options?: { delaySeconds?: number }): Promise<void>;
}

/** @example const jobs = messageQueue<LifecycleJob>(config.lifecycleQueueUrl); */
export function messageQueue<T>(url: string): MessageQueue<T> {
  return {
    async send(message, options = {}) {
      const { client, sdk } = await loadSqs();
      await client.send(
        new sdk.SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(message), DelaySeconds: options.delaySeconds }),
      );
    },
  };
}

/**
 * Moves messages from a dead-letter queue back to its source queue (a redrive), each one
 * sent before it is deleted, so a crash in between duplicates a message rather than losing
 * it (the steps ignore duplicates), with its attributes (its origin). Returns how many moved.
 */
export async function redrive(dlqUrl: string, queueUrl: string, max = 1000): Promise<number> {
  const { client, sdk } = await loadSqs();
  let moved = 0;
  while (moved < max) {
    const { Messages = [] } = await client.send(
      new sdk.ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return moved;
    for (const message of Messages) {
      await client.send(
        new sdk.SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.Body ?? "", MessageAttributes: message.MessageAttributes }),
      );
      await client.send(new sdk.DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
      moved += 1;
    }
  }
  return moved;
}
