/**
 * Structured JSON logs through Powertools Logger: one JSON object per line, with the
 * service name and level. Never pass request bodies, tokens or headers in here.
 *
 * Every line also carries the keys of the work it belongs to (`withLogContext`): the
 * request id that started a saga (`correlation_id`), the saga, its version and step, the
 * chat and reply. The context follows async calls (AsyncLocalStorage), so a line written
 * deep down — a model retry inside a saga step — names its saga without being told.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { LogFormatter, LogItem, LogLevelThreshold, Logger } from "@aws-lambda-powertools/logger";
import type { LogAttributes, UnformattedAttributes } from "@aws-lambda-powertools/logger/types";

/** The `service` of each function (its POWERTOOLS_SERVICE_NAME in the template); the metrics' `service` dimension too. */
export const SERVICES = {
  api: "remirai-api",
  synthesis: "remirai-synthesis",
  image: "remirai-image",
  sweeper: "remirai-sweeper",
} as const;

/** This process's own service: what lines and metrics say when no context names another. */
export const PROCESS_SERVICE = process.env.POWERTOOLS_SERVICE_NAME || SERVICES.api;

export type LogContext = {
  /** Whose work this is when one process runs several functions' work (./run.sh runs all four). */
  service?: string;
  /** The request id that started it: the same on every line of a saga, in every function. */
  correlation_id?: string;
  saga_id?: string;
  persona_version?: number;
  step?: string;
  chat_id?: string;
  reply_id?: string;
};

const contexts = new AsyncLocalStorage<LogContext>();

/**
 * Runs `work` with `context` added to every log line (and metric: its `service`) it writes.
 * @example await withLogContext({ saga_id, step: "image" }, () => illustrate(message));
 */
export function withLogContext<T>(context: LogContext, work: () => T): T {
  const outer = contexts.getStore();
  return contexts.run(outer ? { ...outer, ...context } : context, work);
}

/**
 * `withLogContext` for work run many times in one context (each event of a stream): the
 * context is merged once.
 */
export function logContextRunner(context: LogContext): <T>(work: () => T) => T {
  const outer = contexts.getStore();
  const merged = outer ? { ...outer, ...context } : context;
  return (work) => contexts.run(merged, work);
}

/** The context of the work running now, if any. */
export const logContext = (): LogContext | undefined => contexts.getStore();

/** Powertools' default line (level, message, timestamp, service, …) with the context's keys before the call's own. */
class ContextFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = contexts.getStore();
    const item = new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        sampling_rate: attributes.sampleRateValue,
        xray_trace_id: attributes.xRayTraceId,
      },
    });
    // The context's `service`, when it names one, replaces the process's in place.
    if (context) item.addAttributes(context);
    return item.addAttributes(additional);
  }
}

export const logger = new Logger({ serviceName: PROCESS_SERVICE, logFormatter: new ContextFormatter() });

/**
 * The API's request lines: the very lines `logger` would print (same formatter, service and
 * level), but collected and written to stdout in one `write` per event-loop turn instead of
 * one per request. The turn in which a response is ended writes its line: the flush is a
 * `setImmediate`, which runs before the loop waits for I/O again, so no request's line waits
 * for another request. Warnings and errors go out at once (after what is pending, to keep
 * the order). At exit (`process.exit` after SIGTERM's graceful close, an uncaught error) the
 * rest is written synchronously (stdout is synchronous for files and pipes on Linux). Under the
 * Lambda Web Adapter the environment can only be frozen once the adapter has read the
 * response and handed it to Lambda, which is later than our same-turn flush; were it frozen
 * first, the line would go out on thaw, or at the SIGTERM Lambda sends before shutdown
 * (docs/decisions.md, "Performance round two (issue 18)").
 *
 * `request(line)` formats the request line itself, byte for byte as Powertools would (test/
 * request-log.test.ts holds them equal): Powertools reads the environment three times per
 * line, deep-merges and stringifies through a replacer, which was a fifth of the busy CPU.
 */
class TurnBatchedLogger extends Logger {
  /** The level threshold, read once: Powertools' `level` getter reads the environment each time. */
  private cachedLevel: number | undefined;

  protected override printLog(logLevel: number, log: LogItem): void {
    if (logLevel >= LogLevelThreshold.WARN) {
      flushRequestLines();
      super.printLog(logLevel, log);
      return;
    }
    // As Powertools prints a line (Logger.printLog), minus the console: the same JSON text.
    log.prepareForPrint();
    queue(JSON.stringify(log.getAttributes(), this.getJsonReplacer(), this.internals().logIndentation));
  }

  override setLogLevel(logLevel: Parameters<Logger["setLogLevel"]>[0]): void {
    super.setLogLevel(logLevel);
    this.cachedLevel = undefined;
  }

  /** Whether an INFO line is printed (the request line and its metrics are). */
  printsInfo(): boolean {
    if (PER_INVOCATION_LEVEL) return this.level <= LogLevelThreshold.INFO;
    this.cachedLevel ??= this.level;
    return this.cachedLevel <= LogLevelThreshold.INFO;
  }

  /** `info("request", line)`, formatted here when the line holds only what this formatter knows to print as Powertools does. */
  request(line: object): void {
    if (!this.printsInfo()) return;
    if (ZONED) {
      this.info("request", line as LogAttributes);
      return;
    }
    const { powertoolsLogData, logIndentation } = this.internals();
    const item: Record<string, unknown> = {
      level: "INFO",
      message: "request",
      timestamp: timestamp(),
      service: powertoolsLogData.serviceName,
      sampling_rate: powertoolsLogData.sampleRateValue,
      xray_trace_id: traceId(),
    };
    const context = contexts.getStore();
    const tail = logIndentation === 0 ? tailOf(line, item) : undefined;
    if ((context && !merge(item, context, false)) || !merge(item, line, true, tail?.keys)) {
      this.info("request", line as LogAttributes);
      return;
    }
    const text = JSON.stringify(item, null, logIndentation);
    queue(tail ? `${text.slice(0, -1)},${tail.text}}` : text);
  }

  private internals(): { logIndentation: number; powertoolsLogData: { serviceName: string; sampleRateValue?: number } } {
    return this as unknown as ReturnType<TurnBatchedLogger["internals"]>;
  }
}

/** Under Lambda's InvokeStore (several invocations at once) the level is per invocation: read each time. */
const PER_INVOCATION_LEVEL = (process.env.AWS_LAMBDA_MAX_CONCURRENCY ?? "").trim() !== "";
/** A time zone other than UTC (TZ, read once at start): Powertools formats those timestamps, not us. */
const ZONED = ((tz) => tz !== "" && !tz.includes("UTC"))((process.env.TZ ?? "").trim());
const RESERVED = new Set(["level", "message", "sampling_rate", "service", "timestamp", "__proto__", "constructor"]);

/**
 * A line's last members given as JSON text too (the EMF members `Metrics.requestLine` adds):
 * printed as they are, so the same directive is not stringified again on every line.
 * `keys` are the members' names in order, `text` their JSON (`"k":v,…`).
 */
export const LINE_TAIL = Symbol("line tail");
export type LineTail = { keys: readonly string[]; text: string };

/** The line's tail, when it may be printed as given: its keys are the line's last and in no earlier field. */
function tailOf(line: object, item: Record<string, unknown>): LineTail | undefined {
  const tail = (line as { [LINE_TAIL]?: LineTail })[LINE_TAIL];
  if (tail === undefined) return undefined;
  const keys = Object.keys(line);
  const last = keys.slice(keys.length - tail.keys.length);
  if (last.some((key, i) => key !== tail.keys[i])) return undefined;
  const context = contexts.getStore();
  if (tail.keys.some((key) => key in item || (context !== undefined && key in context))) return undefined;
  return tail;
}

/**
 * Adds `from`'s keys to `item` as Powertools' deep merge and empty-key removal would leave
 * them (a key keeps its first place; null and "" print as absent, like undefined). Returns
 * false, having stopped, on anything whose printing only Powertools knows: a reserved key of
 * the call's own attributes (dropped with a warning), an Error or bigint (its replacer), an
 * object merged into another.
 */
function merge(item: Record<string, unknown>, from: object, checkReserved: boolean, skip?: readonly string[]): boolean {
  for (const key in from) {
    if (!Object.hasOwn(from, key) || skip?.includes(key)) continue;
    const value = (from as Record<string, unknown>)[key];
    if (checkReserved && RESERVED.has(key)) return false;
    if (typeof value === "bigint" || value instanceof Error) return false;
    const existing = item[key];
    if (typeof value === "object" && value !== null && typeof existing === "object" && existing !== null) return false;
    if (value !== undefined || existing === undefined) item[key] = value === null || value === "" ? undefined : value;
  }
  return true;
}

let stampMs = -1;
let stamp = "";
/** `new Date().toISOString()`, made once per millisecond. */
function timestamp(): string {
  const now = Date.now();
  if (now !== stampMs) {
    stampMs = now;
    stamp = new Date(now).toISOString();
  }
  return stamp;
}

let traceRaw = "";
let traceRoot: string | undefined;
/** The X-Ray trace id as Powertools reads it (Lambda's InvokeStore, else `_X_AMZN_TRACE_ID`), parsed when it changes. */
function traceId(): string | undefined {
  const store = (globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId(): string | undefined } } }).awslambda?.InvokeStore;
  const raw = store?.getXRayTraceId() ?? (process.env._X_AMZN_TRACE_ID ?? "").trim();
  if (raw === traceRaw) return traceRoot;
  traceRaw = raw;
  if (raw === "") traceRoot = undefined;
  else if (!raw.includes("=")) traceRoot = raw;
  else {
    // As Powertools parses it: the last `Root=` field wins, its value up to the next `=`.
    traceRoot = undefined;
    for (const field of raw.split(";")) {
      const [key, value] = field.split("=");
      if (key === "Root") traceRoot = value;
    }
  }
  return traceRoot;
}

const pending: string[] = [];

function queue(text: string): void {
  pending.push(text);
  if (pending.length === 1) setImmediate(flushRequestLines);
}

/** Writes the request lines not yet written, in one write. */
export function flushRequestLines(): void {
  if (pending.length === 0) return;
  const text = `${pending.join("\n")}\n`;
  pending.length = 0;
  process.stdout.write(text);
}
process.on("exit", flushRequestLines);

export const requestLogger = new TurnBatchedLogger({ serviceName: PROCESS_SERVICE, logFormatter: new ContextFormatter() });
