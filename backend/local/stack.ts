/**
 * What `./run.sh` runs: DynamoDB Local and fauxqs (SQS + S3) as child processes, the
 * table, queues and bucket on them, then the web client and the API on PORT (front.ts). A child that dies is started
 * again (supervisor.ts). Ctrl-C (SIGINT) or SIGTERM closes the API, stops both children
 * and exits 0.
 *
 * Env: PORT (8080), DYNAMODB_PORT (8000), FAUXQS_PORT (4566), DATA_DIR (.data; DynamoDB
 * tables live in `$DATA_DIR/dynamodb`), TABLE_NAME (remirai), MEDIA_BUCKET (remirai-media),
 * AUTH_MODE (local), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; the rest of
 * backend/config.ts as the API reads it. FINGERPRINT_SECRET, JWT_PRIVATE_KEY and
 * JWT_PUBLIC_KEY default to the ones in `$DATA_DIR/secrets.json` (made on first start).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { logger } from "../log.ts";
import { serve, type RunningServer } from "../api/adapters/node.ts";
import { createApi } from "../api/index.ts";
import { compose } from "../compose.ts";
import { withWebClient } from "./front.ts";
import { provision } from "./provision.ts";
import { localSaga, startLocalWorkers } from "./workers.ts";
import { exportSecrets, loadOrCreateSecrets } from "./secrets.ts";
import { startDynamoDbLocal, startFauxqs, stopLocalServices } from "./services.ts";
import { supervise } from "./supervisor.ts";

const log = logger.createChild({ serviceName: "remirai-local" });
const env = process.env;
let api: (RunningServer & { graceMs: number }) | undefined;
let workers: { stop(): Promise<void> } | undefined;
let stopping = false;

// Handlers first: a Ctrl-C during the seconds DynamoDB Local takes to start must still
// stop what is starting, and a second Ctrl-C must not wait (services.ts SIGKILLs on exit).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) {
      log.warn("second signal, stopping at once", { signal });
      process.exit(1);
    }
    log.info("stopping", { signal });
    void stop(0);
  });
}

try {
  await start();
} catch (error) {
  // A start cut short by Ctrl-C fails too; that is no error.
  if (!stopping) {
    log.error("local stack failed to start", error as Error);
    await stop(1);
  }
}

async function start(): Promise<void> {
  const dynamodbPort = port("DYNAMODB_PORT", 8000);
  const fauxqsPort = port("FAUXQS_PORT", 4566);
  const dataDir = env.DATA_DIR || ".data";

  env.AWS_REGION ||= "us-east-1";
  // DynamoDB Local and fauxqs accept any credentials; the SDK only needs some to sign.
  env.AWS_ACCESS_KEY_ID ||= "local";
  env.AWS_SECRET_ACCESS_KEY ||= "local";
  env.AUTH_MODE ||= "local";
  env.TABLE_NAME ||= "remirai";
  env.MEDIA_BUCKET ||= "remirai-media";

  const startDynamoDb = (port: number) => startDynamoDbLocal({ port, dataDir: join(dataDir, "dynamodb") });
  // Media objects are kept on disk, so every ready persona's portrait survives a restart.
  const startQueues = (port: number) => startFauxqs({ port, s3Dir: join(dataDir, "s3") });
  const [dynamodb, fauxqs] = await Promise.all([startDynamoDb(dynamodbPort), startQueues(fauxqsPort)]);
  log.info("dynamodb local started", { pid: dynamodb.pid, endpoint: dynamodb.endpoint });
  log.info("fauxqs started", { pid: fauxqs.pid, endpoint: fauxqs.endpoint });

  // The SDK clients of the API read these themselves; no local-only code path in the app.
  env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.endpoint;
  env.AWS_ENDPOINT_URL_SQS = fauxqs.endpoint;
  env.AWS_ENDPOINT_URL_S3 = fauxqs.endpoint;
  const resources = {
    tableName: env.TABLE_NAME,
    synthesisQueue: "remirai-synthesis",
    imageQueue: "remirai-image",
    lifecycleQueue: "remirai-lifecycle",
    mediaBucket: env.MEDIA_BUCKET,
  };
  const queues = await provision(resources);
  env.SYNTHESIS_QUEUE_URL = queues.synthesisQueueUrl;
  env.IMAGE_QUEUE_URL = queues.imageQueueUrl;
  env.SYNTHESIS_DLQ_URL = queues.synthesisDlqUrl;
  env.IMAGE_DLQ_URL = queues.imageDlqUrl;
  env.LIFECYCLE_QUEUE_URL = queues.lifecycleQueueUrl;
  env.LIFECYCLE_DLQ_URL = queues.lifecycleDlqUrl;
  // Portraits are fetched straight from the local S3 (path-style), as from CloudFront in AWS.
  env.MEDIA_BASE_URL ||= `http://localhost:${new URL(fauxqs.endpoint).port}/${env.MEDIA_BUCKET}`;
  log.info("provisioned", { tableName: env.TABLE_NAME, ...queues, mediaBucket: env.MEDIA_BUCKET });

  // A service that dies is started again on the same port (the endpoints above stay right)
  // and data. fauxqs keeps queues in memory: they are created again, with the same URLs; the
  // messages they held are gone, and the sweeper re-drives the sagas that waited on them.
  const provisionAgain = async () => {
    await provision(resources);
  };
  const stoppingNow = () => stopping;
  void supervise(
    dynamodb,
    { label: "dynamodb local", start: () => startDynamoDb(dynamodbPort), afterRestart: provisionAgain },
    log,
    stoppingNow,
  );
  const fauxqsPortInUse = Number(new URL(fauxqs.endpoint).port);
  void supervise(fauxqs, { label: "fauxqs", start: () => startQueues(fauxqsPortInUse), afterRestart: provisionAgain }, log, stoppingNow);

  // Kept in DATA_DIR so tokens and fingerprint hashes survive a restart.
  exportSecrets(await loadOrCreateSecrets(dataDir));

  // For `npm run redrive` and other local tools: where this stack's services are.
  const shared = [
    "AWS_REGION",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_S3",
    "TABLE_NAME",
    "SYNTHESIS_QUEUE_URL",
    "SYNTHESIS_DLQ_URL",
    "IMAGE_QUEUE_URL",
    "IMAGE_DLQ_URL",
    "LIFECYCLE_QUEUE_URL",
    "LIFECYCLE_DLQ_URL",
    "MEDIA_BUCKET",
  ];
  await writeFile(join(dataDir, "local-env.json"), JSON.stringify(Object.fromEntries(shared.map((n) => [n, env[n]])), null, 2));

  if (stopping) return;
  const config = loadConfig();
  // One composition for the API and the workers, as one Lambda each would have.
  const domains = compose(config);
  // One origin, as CloudFront serves it: the web client, with the API under /api (front.ts).
  const site = withWebClient(createApi(config, { domains }), { dir: join(import.meta.dirname, "../../dist/web"), config });
  api = { ...(await serve(site, { port: config.port, host: env.HOST ?? "127.0.0.1" })), graceMs: config.shutdownGraceMs };
  log.info("api listening", { url: api.url });
  // The same step handlers as the Lambda workers, fed by long-polling the local queues. A
  // saga whose message was lost in a restart is finished by the sweeper's re-drive.
  // LOCAL_WORKERS=0 serves the API alone (messages wait in the queues).
  if (env.LOCAL_WORKERS !== "0") {
    workers = startLocalWorkers(localSaga(domains), { sweepIntervalMs: Number(env.SWEEP_INTERVAL_MS) || 30_000 });
  }
  printCurlLines(Number(new URL(api.url).port));
}

async function stop(exitCode: number): Promise<void> {
  stopping = true;
  try {
    await api?.close(api.graceMs);
    await workers?.stop();
    await stopLocalServices();
  } catch (error) {
    log.error("stopping failed", error as Error);
    exitCode = 1;
  }
  process.exit(exitCode);
}

function port(name: string, fallback: number): number {
  const raw = env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function printCurlLines(apiPort: number): void {
  const base = `http://localhost:${apiPort}`;
  process.stdout.write(
    `${[
      "",
      `Re:MirAI is up: open ${base}/ in a browser (Ctrl-C stops everything)`,
      "",
      `The API is under ${base}/api (and ${base}/v1):`,
      `  curl ${base}/healthz`,
      `  curl ${base}/readyz`,
      `  curl -N ${base}/v1/personas/me/events -H 'x-user-uid: demo' -H 'accept: text/event-stream'`,
      "",
    ].join("\n")}\n`,
  );
}
