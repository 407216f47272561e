/**
 * Starts, once per `node --test` run, the DynamoDB Local and fauxqs every test file shares,
 * and provisions them. Used as `--test-global-setup=test/support/global-setup.ts`.
 *
 * Test files run as child processes of the runner and inherit its environment at spawn
 * time, after globalSetup has finished (checked on Node 24.21), so the endpoints and
 * resource names travel as plain env vars. Read them through test/support/stack.ts.
 */
import { provision } from "../../backend/local/provision.ts";
import { exportSecrets, generateSecrets } from "../../backend/local/secrets.ts";
import { freePort, localAwsEnv, startDynamoDbLocal, startFauxqs, stopLocalServices } from "../../backend/local/services.ts";

export async function globalSetup(): Promise<void> {
  try {
    const [dynamodb, fauxqs] = await Promise.all([
      // In memory: every run starts from an empty table.
      freePort().then((port) => startDynamoDbLocal({ port })),
      startFauxqs({ port: 0 }),
    ]);
    Object.assign(process.env, {
      ...localAwsEnv(dynamodb, fauxqs),
      AUTH_MODE: "local",
      // Request and step logs are asserted through injected loggers; keep the run readable.
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "WARN",
      TABLE_NAME: "remirai-test",
      MEDIA_BUCKET: "remirai-test-media",
      TEST_DYNAMODB_PID: String(dynamodb.pid),
      TEST_FAUXQS_PID: String(fauxqs.pid),
    });
    // Fresh per run and never written to disk: FINGERPRINT_SECRET and the JWT key pair.
    exportSecrets(generateSecrets());
    const queues = await provision({
      tableName: "remirai-test",
      synthesisQueue: "remirai-test-synthesis",
      imageQueue: "remirai-test-image",
      mediaBucket: "remirai-test-media",
    });
    process.env.SYNTHESIS_QUEUE_URL = queues.synthesisQueueUrl;
    process.env.IMAGE_QUEUE_URL = queues.imageQueueUrl;
    process.env.TEST_SYNTHESIS_DLQ_URL = queues.synthesisDlqUrl;
    process.env.TEST_IMAGE_DLQ_URL = queues.imageDlqUrl;
    process.env.LIFECYCLE_QUEUE_URL = queues.lifecycleQueueUrl;
  } catch (error) {
    await globalTeardown();
    throw error;
  }
}

/** Stops both services, including one still starting when the other failed. */
export async function globalTeardown(): Promise<void> {
  await stopLocalServices();
}
