/**
 * `./run.sh` as a developer runs it, in a child process on free ports, with its log lines
 * parsed as they arrive. For tests of the local stack itself (test/local-stack.test.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter, once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { freePort } from "../../backend/local/services.ts";
import { watch } from "./contract-watch.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
/** Covers a cold JVM on a slow two-core machine; not a performance expectation. */
const startDeadlineMs = 120_000;

export interface LogLine {
  level?: string;
  message?: string;
  [field: string]: unknown;
}

export interface RunShExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningRunSh {
  child: ChildProcess;
  /** http://127.0.0.1:<PORT> */
  apiUrl: string;
  dynamodbEndpoint: string;
  dynamodbPid: number;
  fauxqsPid: number;
  exited: Promise<RunShExit>;
  /** The first JSON log line with this message, waiting for it until `deadline`. */
  nextLog(message: string, deadline: AbortSignal): Promise<LogLine>;
  /** Sends `signal` (Ctrl-C by default) and waits for run.sh to exit. */
  stop(signal?: NodeJS.Signals): Promise<RunShExit>;
}

/**
 * Starts `./run.sh` with a clean environment (none of the test run's own AWS settings) and
 * resolves once it has logged both children and `/readyz` answers 200.
 * @example const stack = await startRunSh({ dataDir }); await fetch(`${stack.apiUrl}/healthz`);
 */
export async function startRunSh(opts: { dataDir: string; env?: Record<string, string> }): Promise<RunningRunSh> {
  const [port, dynamodbPort, fauxqsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn("./run.sh", [], {
    cwd: repoRoot,
    env: {
      ...environmentOfDeveloper(),
      PORT: String(port),
      DYNAMODB_PORT: String(dynamodbPort),
      FAUXQS_PORT: String(fauxqsPort),
      DATA_DIR: opts.dataDir,
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<RunShExit>((settle) => child.once("exit", (code, signal) => settle({ code, signal })));
  const stderr: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const logs = logLines(child);

  const deadline = AbortSignal.any([
    AbortSignal.timeout(startDeadlineMs),
    abortedWhen(exited, () => `run.sh exited before it was ready:\n${stderr.join("")}`),
  ]);
  try {
    const dynamodb = await logs.next("dynamodb local started", deadline);
    const fauxqs = await logs.next("fauxqs started", deadline);
    const apiUrl = `http://127.0.0.1:${port}`;
    // What it answers is checked against the contract (it serves the web client on the same origin too).
    const unwatch = watch(apiUrl, "with-web");
    void exited.then(unwatch);
    await pollUntil(async () => (await fetch(`${apiUrl}/readyz`, { signal: deadline })).status === 200, deadline);
    return {
      child,
      apiUrl,
      dynamodbEndpoint: String(dynamodb.endpoint),
      dynamodbPid: Number(dynamodb.pid),
      fauxqsPid: Number(fauxqs.pid),
      exited,
      nextLog: (message, until) => logs.next(message, until),
      async stop(signal = "SIGINT") {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  } catch (error) {
    child.kill("SIGINT");
    await exited;
    throw error;
  }
}

/**
 * Retries `check` until it returns true; fails when `deadline` aborts.
 * @example await pollUntil(async () => (await fetch(url)).status === 503, AbortSignal.timeout(30_000));
 */
export async function pollUntil(check: () => Promise<boolean>, deadline: AbortSignal): Promise<void> {
  let lastError: unknown;
  while (!deadline.aborted) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error; // e.g. connection refused while the server starts
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition not met: ${String(deadline.reason)}; last error: ${String(lastError)}`);
}

/** True while a process with this pid exists (signal 0 only checks). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** The environment minus what test/support/global-setup.ts set for the shared services. */
function environmentOfDeveloper(): NodeJS.ProcessEnv {
  // POWERTOOLS_LOG_LEVEL too: the stack's INFO lines are how these tests find its children.
  const setByTestRun =
    /^(AWS_|TEST_|NODE_TEST_|POWERTOOLS_)|^(TABLE_NAME|MEDIA_BUCKET|AUTH_MODE|SYNTHESIS_QUEUE_URL|IMAGE_QUEUE_URL|SYNTHESIS_DLQ_URL|IMAGE_DLQ_URL|LIFECYCLE_QUEUE_URL|FINGERPRINT_SECRET|JWT_PRIVATE_KEY|JWT_PUBLIC_KEY)$/;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !setByTestRun.test(name)));
}

function abortedWhen(exited: Promise<unknown>, reason: () => string): AbortSignal {
  const controller = new AbortController();
  void exited.then(() => controller.abort(new Error(reason())));
  return controller.signal;
}

/**
 * JSON log lines from stdout and stderr (Powertools writes errors there), waited for by
 * message. Other lines (curl hints) are skipped.
 */
function logLines(child: ChildProcess) {
  const seen: LogLine[] = [];
  const logged = new EventEmitter();
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      try {
        seen.push(JSON.parse(line) as LogLine);
        logged.emit("logged");
      } catch {
        // a partial or non-JSON line; the stack logs one JSON object per line
      }
    });
  }
  return {
    async next(message: string, deadline: AbortSignal): Promise<LogLine> {
      for (;;) {
        const found = seen.find((entry) => entry.message === message);
        if (found) return found;
        await once(logged, "logged", { signal: deadline }).catch(() => {
          throw new Error(`no "${message}" log line: ${String(deadline.reason)}`);
        });
      }
    },
  };
}
