/**
 * The saga's step queues as a port, bound to their URLs once by the composition root. One
 * message per step; the body names the saga, not the data.
 */
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { z } from "zod";
import { sqsClient } from "./aws.ts";

export const StepMessage = z.strictObject({ uid: z.string().min(1), sagaId: z.string().min(1) });
export type StepMessage = z.infer<typeof StepMessage>;

/** A set of named queues, e.g. `{ synthesis, image }`. */
export interface StepQueues<Step extends string = string> {
  send(step: Step, message: StepMessage): Promise<void>;
  /** Messages waiting for a consumer (visible; not those in flight). Approximate, as SQS says. */
  backlog(step: Step): Promise<number>;
}

/** @example const queues = stepQueues({ synthesis: config.synthesisQueueUrl, image: config.imageQueueUrl }); */
export function stepQueues<Step extends string>(urls: Record<Step, string>): StepQueues<Step> {
  return {
    async send(step, message) {
      await sqsClient().send(new SendMessageCommand({ QueueUrl: urls[step], MessageBody: JSON.stringify(message) }));
    },
    async backlog(step) {
      const { Attributes = {} } = await sqsClient().send(
        new GetQueueAttributesCommand({ QueueUrl: urls[step], AttributeNames: ["ApproximateNumberOfMessages"] }),
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
      await sqsClient().send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(message), DelaySeconds: options.delaySeconds }),
      );
    },
  };
}

/**
 * Moves messages from a dead-letter queue back to its source queue (a redrive), each one
 * sent before it is deleted, so a crash in between duplicates a message rather than losing
 * it (the steps ignore duplicates). Returns how many moved.
 */
export async function redrive(dlqUrl: string, queueUrl: string, max = 1000): Promise<number> {
  let moved = 0;
  while (moved < max) {
    const { Messages = [] } = await sqsClient().send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
      }),
    );
    if (Messages.length === 0) return moved;
    for (const message of Messages) {
      await sqsClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.Body ?? "" }));
      await sqsClient().send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
      moved += 1;
    }
  }
  return moved;
}
