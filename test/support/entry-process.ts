/**
 * Deployed entries run as Lambda runs them, each in a process of its own with exactly the
 * environment a test gives it: the API bundle through its run.sh (what the Lambda Web Adapter
 * executes), a handler module imported and called once with an event (what the Node runtime
 * does). Every line the process writes is kept for the test to read.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

export interface EntryProcess {
  child: ChildProcess;
  /** stdout and stderr lines so far, in arrival order per stream. */
  lines: string[];
  /** Resolves with the exit code (a signal gives `null`). */
  exited: Promise<number | null>;
  /** The first line (so far or to come) matching `pattern`; rejects if the process exits first. */
  line(pattern: RegExp): Promise<string>;
}

const running = new Set<ChildProcess>();
/** For an `after` hook: what a failed test left running. */
export function killEntryProcesses(): void {
  for (const child of running) child.kill("SIGKILL");
}

export function startEntryProcess(command: string, args: string[], options: { env: Record<string, string>; cwd: string }): EntryProcess {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const check of waiters) check();
    });
  }
  // Both streams drained as well as the process gone: no line is still on its way.
  const closed = once(child, "close").then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  const line = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines.find((l) => pattern.test(l));
        if (found !== undefined) {
          waiters.delete(check);
          resolve(found);
        }
      };
      waiters.add(check);
      check();
      void closed.then((code) => {
        check();
        if (waiters.delete(check)) reject(new Error(`exited (${code}) before a line matching ${pattern}:\n${lines.join("\n")}`));
      });
    });
  return { child, lines, exited: closed, line };
}

/** Imports the module, calls `exportName` with the event, prints the result, exits. */
const INVOKE = `
const [entry, exportName, event] = process.argv.slice(1);
const handler = (await import(entry))[exportName];
const result = await handler(JSON.parse(event));
console.log("HANDLER RESULT " + JSON.stringify(result ?? null));
process.exit(0);
`;

export interface Invocation {
  code: number | null;
  /** What the handler returned; `undefined` when it never got to return. */
  result: unknown;
  lines: string[];
}

/**
 * One cold start and one invocation of a handler module, as the Node runtime does it.
 * `tsx`: for an entry run from sources rather than a bundle (then `cwd` must be the repository).
 */
export async function invokeHandler(
  modulePath: string,
  event: unknown,
  options: { env: Record<string, string>; cwd: string; exportName?: string; tsx?: boolean },
): Promise<Invocation> {
  const args = [...(options.tsx ? ["--import", "tsx"] : []), "--input-type=module", "-e", INVOKE];
  const entry = startEntryProcess(
    process.execPath,
    [...args, pathToFileURL(modulePath).href, options.exportName ?? "handler", JSON.stringify(event)],
    options,
  );
  const code = await entry.exited;
  const printed = entry.lines.find((l) => l.startsWith("HANDLER RESULT "));
  return { code, result: printed === undefined ? undefined : JSON.parse(printed.slice("HANDLER RESULT ".length)), lines: entry.lines };
}
