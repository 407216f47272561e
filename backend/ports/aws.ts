/**
 * The AWS SDK v3 clients, created once per process. Endpoints come from the SDK's own
 * `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_S3` variables, so
 * the same code talks to DynamoDB Local and fauxqs on a laptop and to AWS in Lambda.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { installCapacityMeter } from "./capacity.ts";

let dynamo: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;

export function dynamoClient(): DynamoDBClient {
  if (!dynamo) {
    dynamo = new DynamoDBClient({ maxAttempts: 3 });
    installCapacityMeter(dynamo);
  }
  return dynamo;
}

export function sqsClient(): SQSClient {
  return (sqs ??= new SQSClient({ maxAttempts: 3 }));
}
