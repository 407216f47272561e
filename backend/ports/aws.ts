/**
 * The AWS SDK v3 clients, created once per process. Endpoints come from the SDK's own
 * `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_S3` variables, so
 * the same code talks to DynamoDB Local and fauxqs on a laptop and to AWS in Lambda.
 *
 * Every client (and the S3 one in media.ts) has explicit timeouts and an attempt cap (AWS_CONNECT_TIMEOUT_MS,
 * AWS_REQUEST_TIMEOUT_MS, AWS_MAX_ATTEMPTS, read when the client is made), so a dependency
 * that hangs costs a request a few seconds, never the function's whole timeout; what is
 * still failing after the SDK's retries reaches callers as `DependencyUnavailableError`.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { awsClientSettings, type AwsClientSettings } from "../config.ts";
import { installCapacityMeter } from "./capacity.ts";
import { reportUnavailable } from "./dependency.ts";

let dynamo: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let sqsPoller: SQSClient | undefined;

/**
 * The SDK logs nothing by default, yet its logger middleware builds each request's and
 * response's redacted copy (a walk over the command's schema) for `logger.info` before the
 * no-op drops it: 3–4% of the API's CPU in a persona start. It calls `info` and `error` only
 * as `logger?.info?.(…)`, so a logger without them skips that work; the SDK calls the rest
 * (`debug`, `trace`, `warn`) directly, so they stay, as no-ops like the default's.
 */
const quietSdkLogger = { debug() {}, trace() {}, warn() {} } as unknown as NonNullable<DynamoDBClientConfig["logger"]>;

/**
 * Sockets per client and endpoint. The SDK's own default is 50, and its connection timeout
 * starts when a request is made, not when it gets a socket: a request queued behind 50 busy
 * ones failed as "could not connect" after AWS_CONNECT_TIMEOUT_MS though the endpoint was
 * fine. One process serving many users at once (`./run.sh`, a chat turn's reads side by side)
 * has more than 50 requests in flight; in Lambda one invocation never does. Requests are still
 * bounded one by one by `requestTimeout`.
 */
const AWS_MAX_SOCKETS = 1024;

/**
 * The SDK options for these settings. `requestTimeout` bounds one attempt from its start to
 * the response headers (connect included; `throwOnRequestTimeout`, or the SDK only warns);
 * `socketTimeout` bounds silence while the body arrives.
 * @example new DynamoDBClient(awsClientOptions(awsClientSettings()))
 */
export function awsClientOptions(settings: AwsClientSettings) {
  return {
    maxAttempts: settings.maxAttempts,
    logger: quietSdkLogger,
    requestHandler: {
      connectionTimeout: settings.connectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      socketTimeout: settings.requestTimeoutMs,
      throwOnRequestTimeout: true,
      httpAgent: { maxSockets: AWS_MAX_SOCKETS },
      httpsAgent: { maxSockets: AWS_MAX_SOCKETS },
    },
  };
}

export function dynamoClient(): DynamoDBClient {
  if (!dynamo) {
    dynamo = reportUnavailable(new DynamoDBClient(awsClientOptions(awsClientSettings())), "dynamodb");
    installCapacityMeter(dynamo);
  }
  return dynamo;
}

export function sqsClient(): SQSClient {
  return (sqs ??= reportUnavailable(new SQSClient(awsClientOptions(awsClientSettings())), "sqs"));
}

/** SQS's longest long poll (ReceiveMessage `WaitTimeSeconds`). */
const LONGEST_POLL_MS = 20_000;

/**
 * For long polls only (the local workers' ReceiveMessage): SQS holds such a request open,
 * silent, for up to 20 s by design, so its attempt may last that long plus the usual timeout.
 */
export function sqsPollingClient(): SQSClient {
  const settings = awsClientSettings();
  return (sqsPoller ??= reportUnavailable(
    new SQSClient(awsClientOptions({ ...settings, requestTimeoutMs: LONGEST_POLL_MS + settings.requestTimeoutMs })),
    "sqs",
  ));
}
