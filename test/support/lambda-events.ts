/** Events as the Lambda service hands them to our workers. */
import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";

let sqs: SQSClient | undefined;

/** An SQS record carrying `message`, for a message nobody sent through a queue. */
export function sqsRecord(message: unknown): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: "AQEB-test",
    body: JSON.stringify(message),
    md5OfBody: "",
    messageAttributes: {},
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: now, SenderId: "AIDATEST", ApproximateFirstReceiveTimestamp: now },
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:remirai-test",
    awsRegion: "us-east-1",
  };
}

/**
 * The one message waiting on `queueUrl` (long-polled, so one still on its way is waited
 * for), as the SQS event source mapping hands it to a worker. It stays on the queue, hidden
 * for the queue's visibility timeout.
 */
export async function sqsEvent(queueUrl: string): Promise<SQSEvent> {
  sqs ??= new SQSClient({});
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }));
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10, MessageSystemAttributeNames: ["All"] }),
  );
  assert.equal(Messages.length, 1, `one message on ${queueUrl}`);
  const m = Messages[0]!;
  const a = m.Attributes ?? {};
  return {
    Records: [
      {
        ...sqsRecord(undefined),
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body!,
        md5OfBody: m.MD5OfBody!,
        attributes: {
          ...sqsRecord(undefined).attributes,
          ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
          SentTimestamp: a.SentTimestamp ?? "0",
        },
        eventSourceARN: Attributes!.QueueArn!,
      },
    ],
  };
}
