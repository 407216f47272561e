/**
 * The single DynamoDB table through the Document client. Every request path uses
 * Get/Query/conditional writes/transactions: there is no Scan anywhere in the backend.
 */
import { ConditionalCheckFailedException, TransactionCanceledException, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { setTimeout as delay } from "node:timers/promises";
import { DynamoDBDocumentClient, TransactWriteCommand, type TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { dynamoClient } from "../ports/aws.ts";

let documents: DynamoDBDocumentClient | undefined;

export function table(): DynamoDBDocumentClient {
  return (documents ??= DynamoDBDocumentClient.from(dynamoClient(), {
    marshallOptions: { removeUndefinedValues: true },
  }));
}

/** A conditional write lost its condition (the item was there, or not, or changed). */
export function isConditionFailed(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException;
}

export interface CancellationReason {
  /** `None` for items that were fine, else e.g. `ConditionalCheckFailed`. */
  code: string;
  /** The item as it was, when the write asked for `ReturnValuesOnConditionCheckFailure: ALL_OLD`. */
  item?: Record<string, unknown>;
}

/**
 * For a cancelled transaction, why each item (in order) was refused, so callers can tell
 * which condition failed without a second read. `undefined` for any other error.
 */
export function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return (error.CancellationReasons ?? []).map((r) => ({
    code: r.Code ?? "None",
    item: r.Item ? unmarshall(r.Item as Record<string, AttributeValue>) : undefined,
  }));
}

/**
 * Runs a write transaction, retrying (with jittered backoff) when DynamoDB cancels it only
 * because another transaction touched the same item at the same moment (`TransactionConflict`,
 * e.g. two friends answering one survey at once). Any other cancellation is the caller's to read.
 */
export async function transact(input: TransactWriteCommandInput, attempts = 4): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await table().send(new TransactWriteCommand(input));
      return;
    } catch (error) {
      const reasons = cancellationReasons(error);
      const conflictOnly = reasons?.some((r) => r.code === "TransactionConflict") && reasons.every((r) => r.code === "None" || r.code === "TransactionConflict");
      if (!conflictOnly || attempt >= attempts) throw error;
      await delay(Math.random() * 20 * 2 ** attempt);
    }
  }
}
