/**
 * The one error path DynamoDB Local does not produce on demand: a transaction cancelled
 * only by a concurrent transaction (`TransactionConflict`) is retried; a failed condition
 * is not. The client's `send` is stubbed for this unit test only.
 */
import assert from "node:assert/strict";
import { afterEach, mock, test } from "node:test";
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { documentClient } from "../backend/data/documents.ts";
import { Table } from "../backend/data/table.ts";

const table = new Table("remirai-unit");

function cancelled(...codes: string[]) {
  return new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

afterEach(() => mock.restoreAll());

test("a transaction cancelled by a concurrent one is retried until it goes through", async () => {
  let calls = 0;
  mock.method(documentClient(), "send", async () => {
    calls += 1;
    if (calls < 3) throw cancelled("None", "TransactionConflict");
    return {};
  });
  await table.transact([]);
  assert.equal(calls, 3);
});

test("a failed condition is returned to the caller at once", async () => {
  let calls = 0;
  mock.method(documentClient(), "send", async () => {
    calls += 1;
    throw cancelled("ConditionalCheckFailed", "TransactionConflict");
  });
  await assert.rejects(table.transact([]), TransactionCanceledException);
  assert.equal(calls, 1);
});

test("retries stop after the last attempt", async () => {
  let calls = 0;
  mock.method(documentClient(), "send", async () => {
    calls += 1;
    throw cancelled("TransactionConflict");
  });
  await assert.rejects(table.transact([], 3), TransactionCanceledException);
  assert.equal(calls, 3);
});
