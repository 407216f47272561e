/**
 * Child processes of the benchmark: every server under test, every load generator and the
 * saga's API and workers run in a process of their own, started here and never outliving
 * the benchmark (SIGKILL on exit; on Linux the kernel kills them too if the benchmark is
 * killed, through `setpriv --pdeathsig`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { withParentDeathSignal } from "../../backend/local/service-process.ts";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  name: string;
  pid: number;
  /** The command line as a reader would type it (no wrappers). */
  command: string;
  /** Settles when the process ends, whoever ended it. */
  exited: Promise<Exit>;
  /** The next IPC message `accept` takes (returns a value for), or an error if the process ends first. */
  message<T>(accept: (message: unknown) => T | undefined, timeoutMs?: number): Promise<T>;
  send(message: unknown): void;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
  /** The child's stdout, when started with `stdout: "pipe"`. */
  stdout(): string;
  stderrTail(): string;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  /** `null`: /dev/null (what the servers' request logs go to); `pipe`: kept for `stdout()`. */
  stdout?: "null" | "pipe" | "inherit";
  /** Raise the open-file limit of the child (soft and hard) to this. */
  nofile?: number;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Run through the tsx loader (needed for anything importing backend/). Default true. */
  tsx?: boolean;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Kills every child still running (used when the benchmark is interrupted). */
export function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
}

/**
 * Starts `node [--import tsx] <script> <args>` with an IPC channel.
 * @example const server = startNode("ours", "bench/servers/ours.ts", [], { stdout: "null" });
 */
export function startNode(name: string, script: string, args: string[] = [], opts: StartOptions = {}): Child {
  const nodeArgs = [...(opts.tsx === false ? [] : ["--import", "tsx"]), ...(opts.nodeArgs ?? [])];
  let [command, argv] = withParentDeathSignal(process.execPath, [...nodeArgs, script, ...args]);
  if (opts.nofile) {
    // `ulimit` in a shell that then execs node: same pid, IPC channel inherited.
    argv = [
      "-c",
      `ulimit -Hn ${opts.nofile} 2>/dev/null; ulimit -n ${opts.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`,
      "sh",
      command,
      ...argv,
    ];
    command = "sh";
  }
  const stdout = opts.stdout === "pipe" ? "pipe" : opts.stdout === "inherit" ? "inherit" : openSync("/dev/null", "w");
  const child = spawn(command, argv, {
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", stdout, "pipe", "ipc"],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  children.add(child);
  let out = "";
  const err: string[] = [];
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => {
    err.push(chunk.toString());
    if (err.length > 50) err.shift();
  });
  const exited = new Promise<Exit>((settle) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      settle({ code, signal });
    });
    child.once("error", () => {
      children.delete(child);
      settle({ code: null, signal: null });
    });
  });
  const shown = ["node", ...nodeArgs, script, ...args].join(" ");
  return {
    name,
    pid: child.pid,
    command: opts.nofile ? `(ulimit -n ${opts.nofile}; ${shown})` : shown,
    exited,
    message<T>(accept: (message: unknown) => T | undefined, timeoutMs = 60_000) {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`${name}: no answer within ${timeoutMs} ms\n${err.join("").slice(-2000)}`)),
          timeoutMs,
        );
        const onMessage = (message: unknown) => {
          const value = accept(message);
          if (value !== undefined) done(undefined, value);
        };
        const onExit = () => done(new Error(`${name} exited before answering\n${err.join("").slice(-2000)}`));
        function done(error?: Error, value?: T) {
          clearTimeout(timer);
          child.off("message", onMessage);
          child.off("exit", onExit);
          if (error) reject(error);
          else resolve(value as T);
        }
        child.on("message", onMessage);
        child.once("exit", onExit);
      });
    },
    send(message) {
      if (child.connected) child.send(message as never);
    },
    async stop(signal = "SIGTERM", graceMs = 5_000) {
      if (children.has(child)) {
        child.kill(signal);
        const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const exit = await exited;
        clearTimeout(kill);
        return exit;
      }
      return exited;
    },
    stdout: () => out,
    stderrTail: () => err.join("").slice(-2000),
  };
}

/** A message of the given `type` (the servers' and clients' IPC convention). */
export const ofType =
  <T>(type: string) =>
  (message: unknown): T | undefined =>
    message && typeof message === "object" && (message as { type?: unknown }).type === type ? (message as T) : undefined;

/** Resident set size of a process in bytes, from /proc (Linux). */
export async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in milliseconds (Linux). */
export async function cpuMsOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
