/**
 * The local services test/support/global-setup.ts started for this test run, as test
 * files see them. The SDK clients already point at them through `AWS_ENDPOINT_URL_*`.
 *
 * They are shared by every test file running at the same time: never stop or kill them.
 * A test about a dependency failing starts its own with `startDynamoDbLocal` / `startFauxqs`.
 */
export { freePort, startDynamoDbLocal, startFauxqs } from "../../backend/local/services.ts";

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
