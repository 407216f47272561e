/** Saga step messages on SQS. One message per step; the body names the saga, not the data. */
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { z } from "zod";
import { sqsClient } from "./aws.ts";

export const StepMessage = z.strictObject({ uid: z.string().min(1), sagaId: z.string().min(1) });
export type StepMessage = z.infer<typeof StepMessage>;

export async function sendStep(queueUrl: string, message: StepMessage): Promise<void> {
  await sqsClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
}

/** Messages waiting on a queue for a consumer (visible; not those being processed). Approximate, as SQS says. */
export async function queueBacklog(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
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
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: Math.min(10, max - moved), WaitTimeSeconds: 0, VisibilityTimeout: 60 }),
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
