/**
 * Measures the DynamoDB capacity a piece of code consumes: inside `measureCapacity`, every
 * command asks for `ReturnConsumedCapacity: TOTAL` and the units are summed. Outside it the
 * middleware does nothing, so production requests pay one AsyncLocalStorage lookup.
 * Used by `npm run capacity` (docs/data-model.md) and the benchmark.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ConsumedCapacity, DynamoDBClient } from "@aws-sdk/client-dynamodb";

export interface CapacityUsed {
  /** DynamoDB requests sent. */
  requests: number;
  /** Of them, writes (anything but Get, BatchGet, TransactGet, Query, Scan). */
  writes: number;
  readUnits: number;
  writeUnits: number;
}

const meter = new AsyncLocalStorage<CapacityUsed>();

export async function measureCapacity<T>(work: () => Promise<T>): Promise<{ result: T; capacity: CapacityUsed }> {
  const capacity: CapacityUsed = { requests: 0, writes: 0, readUnits: 0, writeUnits: 0 };
  const result = await meter.run(capacity, work);
  return { result, capacity };
}

const READS = /^(Get|BatchGet|TransactGet|Query|Scan)/;

function add(used: CapacityUsed, command: string, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
  for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
    // With TOTAL, a response may carry only `CapacityUnits`; the command says which kind.
    if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
      used.readUnits += c.ReadCapacityUnits ?? 0;
      used.writeUnits += c.WriteCapacityUnits ?? 0;
    } else if (READS.test(command)) {
      used.readUnits += c.CapacityUnits ?? 0;
    } else {
      used.writeUnits += c.CapacityUnits ?? 0;
    }
  }
}

export function installCapacityMeter(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const used = meter.getStore();
      if (!used) return next(args);
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = "TOTAL";
      used.requests += 1;
      if (!READS.test(String(context.commandName))) used.writes += 1;
      const out = await next(args);
      add(used, String(context.commandName), (out.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity);
      return out;
    },
    { step: "initialize", name: "remiraiCapacityMeter" },
  );
}
