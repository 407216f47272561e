/**
 * The DynamoDB side of the AWS SDK, in one module that `Table` loads on its first request:
 * the SDK is the biggest part of a cold start that no request has asked for yet (health
 * checks, the document, a Lambda Web Adapter readiness poll), so it is not parsed before
 * the server listens (docs/decisions.md, "Performance round two (issue 18)"). Tests and
 * local tools import it directly for the process's one Document client.
 */
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { dynamoClient } from "../ports/aws.ts";

export {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
export { unmarshall } from "@aws-sdk/util-dynamodb";

let documents: DynamoDBDocumentClient | undefined;

/**
 * The process's Document client over the one DynamoDB client (timeouts, 503 mapping, meter).
 * Domains reach the table through `Table`; tests and local tools may read it directly.
 */
export function documentClient(): DynamoDBDocumentClient {
  return (documents ??= DynamoDBDocumentClient.from(dynamoClient(), { marshallOptions: { removeUndefinedValues: true } }));
}
