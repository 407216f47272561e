/**
 * Creates the table, queues (each with its dead-letter queue) and media bucket that
 * infrastructure/template.yaml creates in AWS, against whatever the SDK's
 * `AWS_ENDPOINT_URL_DYNAMODB` / `_SQS` / `_S3` point at. Safe to run again on every start.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { BucketAlreadyOwnedByYou, CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { awsClientSettings } from "../config.ts";
import { awsClientOptions } from "../ports/aws.ts";

export interface ProvisionedResources {
  synthesisQueueUrl: string;
  imageQueueUrl: string;
  synthesisDlqUrl: string;
  imageDlqUrl: string;
  lifecycleQueueUrl: string;
  lifecycleDlqUrl: string;
}

/** Worker functions time out after 30 s; SQS advises a visibility of at least 6× that. */
const visibilityTimeoutSeconds = 180;
/** Per attempt of a provisioning call (see provision()). */
const provisionRequestTimeoutMs = 15_000;
/** After this many failed receives a message moves to the dead-letter queue. */
const maxReceiveCount = 5;

/**
 * @example
 * process.env.AWS_ENDPOINT_URL_SQS = "http://127.0.0.1:4566"; // and _DYNAMODB, _S3
 * const { synthesisQueueUrl } = await provision({ tableName: "remirai", ... });
 */
export async function provision(opts: {
  tableName: string;
  synthesisQueue: string;
  imageQueue: string;
  /** Deletion jobs; `<imageQueue without -image>-lifecycle` when not named. */
  lifecycleQueue?: string;
  mediaBucket: string;
}): Promise<ProvisionedResources> {
  // Control-plane calls (CreateTable on a JVM that just started) may take seconds: a longer
  // request timeout than the API's, but still one, so a hung service fails provisioning.
  const options = awsClientOptions({ ...awsClientSettings(), requestTimeoutMs: provisionRequestTimeoutMs });
  const dynamodb = new DynamoDBClient(options);
  const sqs = new SQSClient(options);
  // Local tooling only: `<bucket>.localhost` rarely resolves, so address buckets by path.
  // (With an IP endpoint such as 127.0.0.1 the SDK chooses path style by itself.)
  const s3 = new S3Client({ ...options, forcePathStyle: true });
  try {
    const [, synthesis, image, lifecycle] = await Promise.all([
      provisionTable(dynamodb, opts.tableName),
      provisionQueue(sqs, opts.synthesisQueue),
      provisionQueue(sqs, opts.imageQueue),
      provisionQueue(sqs, opts.lifecycleQueue ?? `${opts.imageQueue.replace(/-image$/, "")}-lifecycle`),
      provisionBucket(s3, opts.mediaBucket),
    ]);
    return {
      synthesisQueueUrl: synthesis.queueUrl,
      synthesisDlqUrl: synthesis.dlqUrl,
      imageQueueUrl: image.queueUrl,
      imageDlqUrl: image.dlqUrl,
      lifecycleQueueUrl: lifecycle.queueUrl,
      lifecycleDlqUrl: lifecycle.dlqUrl,
    };
  } finally {
    dynamodb.destroy();
    sqs.destroy();
    s3.destroy();
  }
}

/** The single table of docs/data-model.md: PK/SK, sparse GSI1, TTL on `expiresAt`. */
async function provisionTable(client: DynamoDBClient, tableName: string): Promise<void> {
  if (!(await tableExists(client, tableName))) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [
            { AttributeName: "PK", AttributeType: "S" },
            { AttributeName: "SK", AttributeType: "S" },
            { AttributeName: "GSI1PK", AttributeType: "S" },
            { AttributeName: "GSI1SK", AttributeType: "S" },
          ],
          KeySchema: [
            { AttributeName: "PK", KeyType: "HASH" },
            { AttributeName: "SK", KeyType: "RANGE" },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: "GSI1",
              KeySchema: [
                { AttributeName: "GSI1PK", KeyType: "HASH" },
                { AttributeName: "GSI1SK", KeyType: "RANGE" },
              ],
              // Keys only: the sweeper reads each persona itself, and writes stay cheap.
              Projection: { ProjectionType: "KEYS_ONLY" },
            },
          ],
        }),
      );
    } catch (error) {
      // Another process created it between our DescribeTable and CreateTable.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: tableName });
  }
  const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (status !== "ENABLED" && status !== "ENABLING") {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      }),
    );
  }
}

async function tableExists(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

/**
 * `<name>-dlq` first (its ARN goes into the redrive policy), then `<name>`. Attributes are
 * set after CreateQueue so a queue left by an older run converges instead of conflicting.
 */
async function provisionQueue(client: SQSClient, name: string): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlqUrl = await createQueue(client, `${name}-dlq`);
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }));
  const deadLetterTargetArn = Attributes?.QueueArn;
  if (!deadLetterTargetArn) throw new Error(`queue ${name}-dlq has no QueueArn`);
  const queueUrl = await createQueue(client, name);
  await client.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn, maxReceiveCount }),
        VisibilityTimeout: String(visibilityTimeoutSeconds),
      },
    }),
  );
  return { queueUrl, dlqUrl };
}

async function createQueue(client: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  return reachableQueueUrl(QueueUrl);
}

/**
 * fauxqs answers with `http://sqs.<region>.localhost:<port>/…`, a host that often does not
 * resolve, and the SDK sends each call to its QueueUrl's host. fauxqs finds queues by path,
 * so keep the path and put the SQS endpoint in front.
 */
function reachableQueueUrl(queueUrl: string): string {
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS || process.env.AWS_ENDPOINT_URL;
  return endpoint ? new URL(new URL(queueUrl).pathname, endpoint).href : queueUrl;
}

async function provisionBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
  }
}
