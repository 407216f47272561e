/**
 * The single DynamoDB table as a port: the Document client bound to one table name, built
 * once by the composition root (backend/compose.ts) and handed to each domain's store.
 * Every request path uses Get/Query/conditional writes/transactions: there is no Scan in
 * the backend. Stores pass commands without `TableName`; the table adds its own.
 *
 * @example
 * const table = new Table("remirai");
 * const item = await table.get<User>(keys.user(uid));
 */
import { ConditionalCheckFailedException, TransactionCanceledException, type AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DeleteCommandInput,
  type PutCommandInput,
  type QueryCommandInput,
  type QueryCommandOutput,
  type TransactWriteCommandInput,
  type UpdateCommandInput,
  type UpdateCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { setTimeout as delay } from "node:timers/promises";
import { dynamoClient } from "../ports/aws.ts";
import type { Key } from "./keys.ts";

let documents: DynamoDBDocumentClient | undefined;

/**
 * The process's Document client over the one DynamoDB client (timeouts, 503 mapping, meter).
 * Domains reach the table through `Table`; tests and local tools may read it directly.
 */
export function documentClient(): DynamoDBDocumentClient {
  return (documents ??= DynamoDBDocumentClient.from(dynamoClient(), { marshallOptions: { removeUndefinedValues: true } }));
}

type Item = Record<string, unknown>;
type Unnamed<T> = Omit<T, "TableName">;
type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** One item of a transaction, without `TableName` (the table adds it). */
export type TableWrite =
  | { Put: Unnamed<NonNullable<TransactItem["Put"]>> }
  | { Update: Unnamed<NonNullable<TransactItem["Update"]>> }
  | { Delete: Unnamed<NonNullable<TransactItem["Delete"]>> }
  | { ConditionCheck: Unnamed<NonNullable<TransactItem["ConditionCheck"]>> };

export class Table {
  #docs: DynamoDBDocumentClient | undefined;

  /** `docs` defaults to the process's client, made on first use: a cold start that reads nothing builds none. */
  constructor(
    readonly name: string,
    docs?: DynamoDBDocumentClient,
  ) {
    this.#docs = docs;
  }

  private get docs(): DynamoDBDocumentClient {
    return (this.#docs ??= documentClient());
  }

  /** One item by key; eventually consistent (half price) unless `consistent: true`. */
  async get<T = Item>(key: Key, options: { consistent?: boolean; projection?: string } = {}): Promise<T | undefined> {
    const { Item } = await this.docs.send(
      new GetCommand({ TableName: this.name, Key: key, ConsistentRead: options.consistent, ProjectionExpression: options.projection }),
    );
    return Item as T | undefined;
  }

  async put(input: Unnamed<PutCommandInput>): Promise<void> {
    await this.docs.send(new PutCommand({ ...input, TableName: this.name }));
  }

  async update(input: Unnamed<UpdateCommandInput>): Promise<UpdateCommandOutput> {
    return this.docs.send(new UpdateCommand({ ...input, TableName: this.name }));
  }

  async delete(input: Unnamed<DeleteCommandInput>): Promise<void> {
    await this.docs.send(new DeleteCommand({ ...input, TableName: this.name }));
  }

  /**
   * Deletes every item named, 25 to a BatchWriteItem, sending again whatever DynamoDB left
   * unprocessed (throttling) after a short backoff. Deleting an item that is gone already is
   * no error, so a deletion cut short can simply be run again.
   */
  async deleteKeys(keys: Key[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((key) => ({ DeleteRequest: { Key: { PK: key.PK, SK: key.SK } } }));
      for (let attempt = 1; requests.length > 0; attempt++) {
        const { UnprocessedItems } = await this.docs.send(new BatchWriteCommand({ RequestItems: { [this.name]: requests } }));
        requests = (UnprocessedItems?.[this.name] ?? []) as typeof requests;
        if (requests.length > 0) {
          if (attempt >= 8) throw new Error(`${requests.length} deletions left unprocessed after ${attempt} attempts`);
          await delay(Math.random() * 25 * 2 ** attempt);
        }
      }
    }
  }

  /**
   * Deletes up to `limit` items of partition `pk` (those whose sort key starts with
   * `skPrefix`, if given): one Query for their keys, then `deleteKeys`. `done` once nothing
   * of them is left, so a large partition is emptied by calling again.
   */
  async deleteItemsOf(pk: string, options: { skPrefix?: string; limit: number }): Promise<{ deleted: number; done: boolean }> {
    if (options.limit < 1) return { deleted: 0, done: false };
    const prefix = options.skPrefix;
    const page = await this.query({
      KeyConditionExpression: prefix === undefined ? "PK = :pk" : "PK = :pk AND begins_with(SK, :prefix)",
      ExpressionAttributeValues: prefix === undefined ? { ":pk": pk } : { ":pk": pk, ":prefix": prefix },
      ProjectionExpression: "PK, SK",
      ConsistentRead: true,
      Limit: options.limit,
    });
    const found = (page.Items ?? []) as Key[];
    await this.deleteKeys(found);
    return { deleted: found.length, done: page.LastEvaluatedKey === undefined };
  }

  /** One page of a Query. */
  async query(input: Unnamed<QueryCommandInput>): Promise<QueryCommandOutput> {
    return this.docs.send(new QueryCommand({ ...input, TableName: this.name }));
  }

  /** Every item a Query matches, page after page: the one paginated-query loop. */
  async queryAll<T = Item>(input: Unnamed<QueryCommandInput>): Promise<T[]> {
    const items: T[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.query({ ...input, ExclusiveStartKey: startKey });
      items.push(...((page.Items ?? []) as T[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /**
   * A write transaction, retried (with jittered backoff) when DynamoDB cancels it only
   * because another transaction touched the same item at the same moment
   * (`TransactionConflict`, e.g. two friends answering one survey at once). Any other
   * cancellation is the caller's to read with `cancellationReasons`.
   */
  async transact(writes: TableWrite[], attempts = 4): Promise<void> {
    const TransactItems = writes.map((write) => named(write, this.name));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.docs.send(new TransactWriteCommand({ TransactItems }));
        return;
      } catch (error) {
        const reasons = cancellationReasons(error);
        const conflictOnly =
          reasons?.some((r) => r.code === "TransactionConflict") &&
          reasons.every((r) => r.code === "None" || r.code === "TransactionConflict");
        if (!conflictOnly || attempt >= attempts) throw error;
        await delay(Math.random() * 20 * 2 ** attempt);
      }
    }
  }
}

function named(write: TableWrite, TableName: string): TransactItem {
  if ("Put" in write) return { Put: { ...write.Put, TableName } };
  if ("Update" in write) return { Update: { ...write.Update, TableName } };
  if ("Delete" in write) return { Delete: { ...write.Delete, TableName } };
  return { ConditionCheck: { ...write.ConditionCheck, TableName } };
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

/** Keys and item fields of a stored item, without `PK`/`SK`. */
export function withoutKeys<T extends object>(item: Record<string, unknown>): T {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as T;
}
