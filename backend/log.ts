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
 */
class TurnBatchedLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    if (logLevel >= LogLevelThreshold.WARN) {
      flushRequestLines();
      super.printLog(logLevel, log);
      return;
    }
    // As Powertools prints a line (Logger.printLog), minus the console: the same JSON text.
    log.prepareForPrint();
    const indentation = (this as unknown as { logIndentation: number }).logIndentation;
    pending.push(JSON.stringify(log.getAttributes(), this.getJsonReplacer(), indentation));
    if (pending.length === 1) setImmediate(flushRequestLines);
  }
}

const pending: string[] = [];

/** Writes the request lines not yet written, in one write. */
export function flushRequestLines(): void {
  if (pending.length === 0) return;
  const text = `${pending.join("\n")}\n`;
  pending.length = 0;
  process.stdout.write(text);
}
process.on("exit", flushRequestLines);

export const requestLogger = new TurnBatchedLogger({ serviceName: PROCESS_SERVICE, logFormatter: new ContextFormatter() });
