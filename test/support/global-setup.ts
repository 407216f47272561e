/**
 * Starts, once per `node --test` run, the DynamoDB Local and fauxqs every test file shares,
 * and provisions them. Used as `--test-global-setup=test/support/global-setup.ts`.
 *
 * Test files run as child processes of the runner and inherit its environment at spawn
 * time, after globalSetup has finished (checked on Node 24.21), so the endpoints and
 * resource names travel as plain env vars. Read them through test/support/stack.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { provision } from "../../backend/local/provision.ts";
import { exportSecrets, generateSecrets } from "../../backend/local/secrets.ts";
import { freePort, localAwsEnv, startDynamoDbLocal, startFauxqs, stopLocalServices } from "../../backend/local/services.ts";

export async function globalSetup(): Promise<void> {
  // Each test process appends how many responses it checked against the contract (support/contract.ts).
  process.env.CONTRACT_COUNT_FILE = join(mkdtempSync(join(tmpdir(), "remirai-contract-")), "counts");
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
      // Likewise the EMF lines: test/metrics.test.ts turns them on in the processes it reads.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
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
    // Unpacks Chromium (test/support/web-stack.ts) once, before test files that launch it run side by side.
    await (await import("@sparticuz/chromium")).default.executablePath();
  } catch (error) {
    await globalTeardown();
    throw error;
  }
}

/** Stops both services, including one still starting when the other failed; prints the contract's count. */
export async function globalTeardown(): Promise<void> {
  await stopLocalServices();
  reportContractChecks();
}

function reportContractChecks(): void {
  const file = process.env.CONTRACT_COUNT_FILE;
  if (!file) return;
  let responses = 0;
  let events = 0;
  try {
    for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
      const [r = 0, e = 0] = line.split(" ").map(Number);
      responses += r;
      events += e;
    }
  } catch {
    // No test process checked anything (a run of suites without HTTP).
  }
  console.log(`contract: ${responses} responses (and ${events} stream events) checked against docs/openapi.json`);
  rmSync(dirname(file), { recursive: true, force: true });
}
