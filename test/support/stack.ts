/**
 * The local services test/support/global-setup.ts started for this test run, as test
 * files see them. The SDK clients already point at them through `AWS_ENDPOINT_URL_*`.
 *
 * They are shared by every test file running at the same time: never stop or kill them.
 * A test about a dependency failing starts its own with `startDynamoDbLocal` / `startFauxqs`.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pollUntil } from "./run-sh.ts";

export { freePort, startDynamoDbLocal, startFauxqs } from "../../backend/local/services.ts";

/**
 * DynamoDB Local acknowledges a `TransactWriteItems` before its SQLite transaction commits (a
 * rollback journal is still beside the file): a SIGKILL in that window loses the write, which
 * DynamoDB proper never does. A test that kills it waits for this first: no journal, and
 * `text` (when given) in the file itself.
 * @example await committedToDisk(join(dataDir, "dynamodb"), surveyId);
 */
export async function committedToDisk(dir: string, text?: string): Promise<void> {
  await pollUntil(async () => {
    const files = await readdir(dir);
    if (files.some((f) => f.endsWith("-journal") || f.endsWith("-wal"))) return false;
    if (text === undefined) return true;
    const contents = await Promise.all(files.filter((f) => f.endsWith(".db")).map((f) => readFile(join(dir, f))));
    return contents.some((bytes) => bytes.includes(text));
  }, AbortSignal.timeout(60_000));
}

export interface SharedStack {
  dynamodbEndpoint: string;
  dynamodbPid: number;
  fauxqsEndpoint: string;
  fauxqsPid: number;
  tableName: string;
  synthesisQueueUrl: string;
  synthesisDlqUrl: string;
  imageQueueUrl: string;
  imageDlqUrl: string;
  mediaBucket: string;
}

/**
 * @example
 * const { tableName } = sharedStack();
 * await dynamo.send(new GetItemCommand({ TableName: tableName, Key: key }));
 */
export function sharedStack(env: NodeJS.ProcessEnv = process.env): SharedStack {
  const read = (name: string): string => {
    const value = env[name];
    if (!value) {
      throw new Error(`${name} is not set: run tests with --test-global-setup=test/support/global-setup.ts (npm test does)`);
    }
    return value;
  };
  return {
    dynamodbEndpoint: read("AWS_ENDPOINT_URL_DYNAMODB"),
    dynamodbPid: Number(read("TEST_DYNAMODB_PID")),
    fauxqsEndpoint: read("AWS_ENDPOINT_URL_SQS"),
    fauxqsPid: Number(read("TEST_FAUXQS_PID")),
    tableName: read("TABLE_NAME"),
    synthesisQueueUrl: read("SYNTHESIS_QUEUE_URL"),
    synthesisDlqUrl: read("TEST_SYNTHESIS_DLQ_URL"),
    imageQueueUrl: read("IMAGE_QUEUE_URL"),
    imageDlqUrl: read("TEST_IMAGE_DLQ_URL"),
    mediaBucket: read("MEDIA_BUCKET"),
  };
}
