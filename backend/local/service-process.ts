/**
 * A local service (DynamoDB Local, fauxqs) as a child process of this one: started by
 * services.ts, supervised here, and never outliving this process.
 *
 * `stop()` ends a service in order; an `exit` hook SIGKILLs any survivor if this process
 * ends some other way; on Linux the kernel kills the JVM even if this process is SIGKILLed.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface LocalService {
  name: string;
  /** Base URL to give the AWS SDK, always on 127.0.0.1. */
  endpoint: string;
  pid: number;
  /** Settles when the process ends, whoever ended it. */
  exited: Promise<ServiceExit>;
  /** Ends the process (SIGTERM, SIGKILL after a short grace) and waits for it to be gone. */
  stop(): Promise<void>;
  /** The last lines the process wrote, for error reports. */
  outputTail(): string;
}

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Covers a cold JVM on a slow machine; a healthy start takes a few seconds. */
const startDeadlineMs = 60_000;
const stopGraceMs = 5_000;
const running = new Map<LocalService, ChildProcess>();

// Last resort for every way this process can end without calling stop() (an uncaught
// error, process.exit in a signal handler): leave no DynamoDB Local or fauxqs behind.
process.on("exit", () => {
  for (const child of running.values()) child.kill("SIGKILL");
});

/** Stops every service started here and still running, including ones still starting. */
export async function stopLocalServices(): Promise<void> {
  await Promise.all([...running.keys()].map((service) => service.stop()));
}

/**
 * On Linux, `setpriv --pdeathsig KILL` (util-linux) makes the kernel kill the JVM when this
 * process dies, even by SIGKILL, where no exit hook runs. Elsewhere it runs as is.
 */
export function withParentDeathSignal(command: string, args: string[]): [string, string[]] {
  const setpriv = process.platform === "linux" && onPath("setpriv");
  return setpriv ? ["setpriv", ["--pdeathsig", "KILL", "--", command, ...args]] : [command, args];
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

/**
 * Watches a spawned service: keeps its last output, settles `exited`, and registers it so
 * it is stopped with the others.
 * @example const service = superviseService(spawn("java", args), "http://127.0.0.1:8000", "DynamoDB Local");
 */
export function superviseService(child: ChildProcess, endpoint: string, name: string): LocalService {
  if (child.pid === undefined) {
    child.once("error", () => {}); // reported by the throw below, not as an uncaught error
    throw new Error(`${name} did not start: could not run ${child.spawnfile}`);
  }
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(chunk.toString());
    if (tail.length > 40) tail.shift();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<ServiceExit>((settle) => {
    child.once("error", (error) => {
      keep(Buffer.from(`${error.message}\n`));
      running.delete(service);
      settle({ code: null, signal: null });
    });
    child.once("exit", (code, signal) => {
      running.delete(service);
      settle({ code, signal });
    });
  });
  const service: LocalService = {
    name,
    endpoint,
    pid: child.pid,
    exited,
    outputTail: () => tail.join("").split("\n").slice(-20).join("\n"),
    async stop() {
      if (!running.has(service)) return;
      child.kill("SIGTERM");
      const grace = setTimeout(() => child.kill("SIGKILL"), stopGraceMs);
      await exited;
      clearTimeout(grace);
    },
  };
  running.set(service, child);
  return service;
}

/**
 * Resolves with what `ready` resolves, or fails with the process output if the process
 * exits or the start deadline passes first. `ready` sees `stopped` abort in either case.
 */
export async function whenReady<T>(service: LocalService, ready: (stopped: AbortSignal) => Promise<T>): Promise<T> {
  const stopped = new AbortController();
  const deadline = setTimeout(() => stopped.abort(new Error(`did not answer within ${startDeadlineMs} ms`)), startDeadlineMs);
  void service.exited.then((exit) => stopped.abort(new Error(`exited (code ${exit.code}, signal ${exit.signal})`)));
  const failed = new Promise<never>((_, reject) => stopped.signal.addEventListener("abort", () => reject(stopped.signal.reason)));
  try {
    return await Promise.race([ready(stopped.signal), failed]);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`${service.name} (pid ${service.pid}) ${why}\n${service.outputTail()}`);
  } finally {
    clearTimeout(deadline);
    stopped.abort();
  }
}
