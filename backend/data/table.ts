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
import type { AttributeValue, ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import type {
  DeleteCommandInput,
  DynamoDBDocumentClient,
  PutCommandInput,
  QueryCommandInput,
  QueryCommandOutput,
  TransactWriteCommandInput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { setTimeout as delay } from "node:timers/promises";
import type { Key } from "./keys.ts";

type Sdk = typeof import("./documents.ts");
/** The SDK, loaded by the first request that reads or writes (documents.ts says why). */
let sdk: Sdk | undefined;
let loading: Promise<Sdk> | undefined;
async function loadSdk(): Promise<Sdk> {
  return (sdk ??= await (loading ??= import("./documents.ts")));
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

  /** `docs` defaults to the process's client, made on first use: a cold start that reads nothing loads no SDK. */
  constructor(
    readonly name: string,
    docs?: DynamoDBDocumentClient,
  ) {
    this.#docs = docs;
  }

  /** The client and the command classes, the SDK loaded on the first call. */
  private async sdk(): Promise<{ docs: DynamoDBDocumentClient; sdk: Sdk }> {
    const loaded = sdk ?? (await loadSdk());
    return { docs: (this.#docs ??= loaded.documentClient()), sdk: loaded };
  }

  /** One item by key; eventually consistent (half price) unless `consistent: true`. */
  async get<T = Item>(key: Key, options: { consistent?: boolean; projection?: string } = {}): Promise<T | undefined> {
    const { docs, sdk } = await this.sdk();
    const { Item } = await docs.send(
      new sdk.GetCommand({ TableName: this.name, Key: key, ConsistentRead: options.consistent, ProjectionExpression: options.projection }),
    );
    return Item as T | undefined;
  }

  /**
   * Several items by key in one request (BatchGetItem), in the order of `keys`; `undefined`
   * where there is none. Keys DynamoDB leaves unprocessed (throttling) are asked for again.
   */
  async getMany<T = Item>(keys: Key[], options: { consistent?: boolean } = {}): Promise<(T | undefined)[]> {
    const { docs, sdk } = await this.sdk();
    const found = new Map<string, Item>();
    const id = (key: Key | Item) => `${key.PK}\u0000${key.SK}`;
    let wanted: Key[] = keys;
    for (let attempt = 1; wanted.length > 0; attempt++) {
      const out = await docs.send(
        new sdk.BatchGetCommand({ RequestItems: { [this.name]: { Keys: wanted, ConsistentRead: options.consistent } } }),
      );
      for (const item of out.Responses?.[this.name] ?? []) found.set(id(item), item);
      wanted = (out.UnprocessedKeys?.[this.name]?.Keys ?? []) as Key[];
      if (wanted.length > 0) await delay(Math.random() * 20 * 2 ** Math.min(attempt, 6));
    }
    return keys.map((key) => found.get(id(key)) as T | undefined);
  }

  async put(input: Unnamed<PutCommandInput>): Promise<void> {
    const { docs, sdk } = await this.sdk();
    await docs.send(new sdk.PutCommand({ ...input, TableName: this.name }));
  }

  async update(input: Unnamed<UpdateCommandInput>): Promise<UpdateCommandOutput> {
    const { docs, sdk } = await this.sdk();
    return docs.send(new sdk.UpdateCommand({ ...input, TableName: this.name }));
  }

  async delete(input: Unnamed<DeleteCommandInput>): Promise<void> {
    const { docs, sdk } = await this.sdk();
    await docs.send(new sdk.DeleteCommand({ ...input, TableName: this.name }));
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
        const { docs, sdk } = await this.sdk();
        const { UnprocessedItems } = await docs.send(new sdk.BatchWriteCommand({ RequestItems: { [this.name]: requests } }));
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
    const { docs, sdk } = await this.sdk();
    return docs.send(new sdk.QueryCommand({ ...input, TableName: this.name }));
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
    const { docs, sdk } = await this.sdk();
    for (let attempt = 1; ; attempt++) {
      try {
        await docs.send(new sdk.TransactWriteCommand({ TransactItems }));
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

/**
 * A conditional write lost its condition (the item was there, or not, or changed). By the
 * SDK's error name, not `instanceof`: the exception classes load with the SDK, on first use.
 */
export function isConditionFailed(error: unknown): error is ConditionalCheckFailedException {
  return (error as Error | undefined)?.name === "ConditionalCheckFailedException";
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
  if ((error as Error | undefined)?.name !== "TransactionCanceledException") return undefined;
  const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
  return reasons.map((r) => ({
    code: r.Code ?? "None",
    // A cancelled transaction was sent, so the SDK is loaded.
    item: r.Item && sdk ? sdk.unmarshall(r.Item as Record<string, AttributeValue>) : undefined,
  }));
}

/** Keys and item fields of a stored item, without `PK`/`SK`. */
export function withoutKeys<T extends object>(item: Record<string, unknown>): T {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as T;
}
