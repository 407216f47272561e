/**
 * Metrics as a port: the domains record what happened in the product's words (`SagaStarted`,
 * `SurveyAnswers` accepted) and this module turns it into CloudWatch metrics through
 * Powertools Metrics — Embedded Metric Format (EMF) lines on stdout, which CloudWatch Logs
 * extracts without one API call.
 *
 * One namespace; dimensions are `service` (whose work: the API, a worker, the sweeper) and at
 * most one low-cardinality dimension of the metric's own (a step, an outcome, a kind) — never a
 * user, saga or chat id. When values are written:
 *   - the API: on the request's own log line, which is made an EMF document (no extra write);
 *     what does not fit on it (two values of one dimension) gets a line of its own;
 *   - a worker or the sweeper: when its batch or sweep ends (`flush`);
 *   - anything else still pending: a second after it was recorded, and at process exit.
 */
import { Metrics as PowertoolsMetrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { LINE_TAIL, type LineTail, logContext, PROCESS_SERVICE } from "../log.ts";

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
interface MetricSpec {
  unit: Unit;
  /** The metric's own dimension, if any; its values are listed in docs/operations.md. */
  dimension?: string;
  /** Also published without that dimension (per service), for an alarm on the total. */
  total?: boolean;
}

const { Count, Milliseconds } = MetricUnit;

/** Every metric we publish. docs/operations.md says what each means and which alarm reads it. */
export const METRICS = {
  // the API, on each request line
  ApiRequests: { unit: Count },
  /** 1 for a 5xx response, else 0: its average is the 5xx share. */
  ApiResponses5xx: { unit: Count },
  // the persona saga
  SagaStarted: { unit: Count },
  SagaStepDuration: { unit: Milliseconds, dimension: "step" },
  SagaReady: { unit: Count },
  SagaTimeToReady: { unit: Milliseconds },
  SagaFailed: { unit: Count, dimension: "reason", total: true },
  SagaRedriven: { unit: Count, dimension: "step" },
  SagaPostponed: { unit: Count, dimension: "step" },
  // model calls (Gemini; the offline providers make none)
  ModelLatency: { unit: Milliseconds, dimension: "call" },
  ModelInputTokens: { unit: Count },
  ModelOutputTokens: { unit: Count },
  ModelErrors: { unit: Count, dimension: "kind" },
  ModelRetries: { unit: Count },
  ModelBreakerOpened: { unit: Count },
  // chat
  ChatFirstToken: { unit: Milliseconds },
  ChatReplyDuration: { unit: Milliseconds },
  ChatReplies: { unit: Count, dimension: "outcome" },
  ChatStops: { unit: Count },
  // surveys
  SurveyAnswers: { unit: Count, dimension: "outcome" },
  SurveyAnswersWithdrawn: { unit: Count },
  SurveyRoundsPublished: { unit: Count },
  // AWS calls that failed after the SDK's retries and were answered 503 (or service_unavailable mid-stream)
  DependencyFailures: { unit: Count, dimension: "dependency" },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;
type DimensionOf<N extends MetricName> = (typeof METRICS)[N] extends { dimension: infer D extends string } ? D : never;
/** A metric with a dimension needs its value; one without takes none. */
type Rest<N extends MetricName> = [DimensionOf<N>] extends [never]
  ? [value?: number]
  : [value: number, dimension: Record<DimensionOf<N>, string>];

export interface Metrics {
  readonly enabled: boolean;
  /**
   * One value of a metric (1 by default: one occurrence), for the service whose work runs now.
   * @example metrics.record("SurveyAnswers", 1, { outcome: "duplicate" });
   */
  record<N extends MetricName>(name: N, ...rest: Rest<N>): void;
  /** The API's request log line (a fresh object, written into) made an EMF document: the request's own metrics and what else is pending for the API. */
  requestLine<L extends object>(status: number, line: L): L;
  /** Counts a request whose log line is not printed; its metrics wait for the next flush. */
  request(status: number): void;
  /** Writes everything pending (of one service, or of all) as EMF lines. */
  flush(service?: string): void;
}

/** `_aws` of a document: a class, so Powertools Logger attaches it as it is instead of deep-copying it per line. */
class EmfMetadata {
  constructor(
    readonly Timestamp: number,
    readonly CloudWatchMetrics: readonly unknown[],
  ) {}
}

interface Group {
  service: string;
  /** Dimension sets besides `service` alone; `{}` is `service` alone (a total). */
  sets: Record<string, string>[];
  metrics: PowertoolsMetrics;
}

type EmfDocument = Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[] } };
type Combined = { members: Record<string, unknown>; directives: unknown[] };

/**
 * Adds each document to `into` whose members (service, dimensions, values) agree with what it
 * already holds — one line then says all of them — and returns those that do not.
 */
function combine(into: Combined, docs: EmfDocument[]): EmfDocument[] {
  const rest: EmfDocument[] = [];
  for (const doc of docs) {
    const { _aws, ...members } = doc;
    if (Object.entries(members).some(([key, value]) => key in into.members && into.members[key] !== value)) {
      rest.push(doc);
      continue;
    }
    Object.assign(into.members, members);
    into.directives.push(..._aws.CloudWatchMetrics);
  }
  return rest;
}

const FLUSH_AFTER_MS = 1_000;
/** The members `requestLine` adds, in the order it adds them. */
const TAIL_KEYS: readonly string[] = ["_aws", "ApiRequests", "ApiResponses5xx"];
/** Instances with values not yet written: written at exit, so a SIGTERM or an exit loses none. */
const pendingAtExit = new Set<EmfMetrics>();
let exitHookSet = false;

class EmfMetrics implements Metrics {
  readonly enabled = true;
  readonly #groups = new Map<string, Group>();
  /** The request line's directive, built once by Powertools: per line only the timestamp and values change. */
  readonly #requestDirectives: readonly unknown[];
  /** The same directive as JSON text, for the request line's printed tail (`LINE_TAIL`). */
  readonly #requestDirectivesJson: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly namespace: string,
    /** Whose lines the request lines are (the logger's service). */
    readonly service: string,
    /** Where EMF lines go (stdout). */
    readonly out: (line: string) => void,
  ) {
    const template = new PowertoolsMetrics({ namespace, serviceName: service });
    template.addMetric("ApiRequests", METRICS.ApiRequests.unit, 1);
    template.addMetric("ApiResponses5xx", METRICS.ApiResponses5xx.unit, 0);
    this.#requestDirectives = template.serializeMetrics()._aws.CloudWatchMetrics;
    this.#requestDirectivesJson = JSON.stringify(this.#requestDirectives);
  }

  record<N extends MetricName>(name: N, ...[value = 1, dimension]: Rest<N>): void {
    const spec: MetricSpec = METRICS[name];
    const service = logContext()?.service ?? this.service;
    const dims = (dimension ?? {}) as Record<string, string>;
    const dimValue = spec.dimension === undefined ? undefined : dims[spec.dimension];
    const key = dimValue === undefined ? service : `${service}\u0000${spec.dimension}=${dimValue}${spec.total ? "+" : ""}`;
    let group = this.#groups.get(key);
    if (!group) {
      const sets = dimValue === undefined ? [] : [...(spec.total ? [{}] : []), { [spec.dimension!]: dimValue }];
      group = { service, sets, metrics: new PowertoolsMetrics({ namespace: this.namespace, serviceName: service }) };
      this.#groups.set(key, group);
    }
    // Dimensions are set at a group's first value after each write (a write clears them).
    if (!group.metrics.hasStoredMetrics()) {
      group.metrics.clearDimensions();
      for (const set of group.sets) group.metrics.addDimensions(set);
    }
    group.metrics.addMetric(name, spec.unit, value);
    this.#schedule();
  }

  requestLine<L extends object>(status: number, line: L): L {
    // Written into the caller's fresh line: no copy of it per request.
    const out = line as Record<string, unknown>;
    const pending = this.#drain(this.service);
    if (pending.length === 0) {
      const now = Date.now();
      const errors = status >= 500 ? 1 : 0;
      out._aws = new EmfMetadata(now, this.#requestDirectives);
      out.ApiRequests = 1;
      out.ApiResponses5xx = errors;
      // The same three members as JSON text: the request log prints them without stringifying the directive again.
      (out as { [LINE_TAIL]?: LineTail })[LINE_TAIL] = {
        keys: TAIL_KEYS,
        text: `"_aws":{"Timestamp":${now},"CloudWatchMetrics":${this.#requestDirectivesJson}},"ApiRequests":1,"ApiResponses5xx":${errors}`,
      };
      return line;
    }
    // Pending values ride along while their dimensions agree with the line's; the rest get lines of their own.
    const onLine: Combined = {
      members: { service: this.service, ApiRequests: 1, ApiResponses5xx: status >= 500 ? 1 : 0 },
      directives: [...this.#requestDirectives],
    };
    this.#write(combine(onLine, pending));
    const { service: _logged, ...members } = onLine.members;
    Object.assign(out, { _aws: new EmfMetadata(Date.now(), onLine.directives) }, members);
    return line;
  }

  request(status: number): void {
    this.record("ApiRequests");
    this.record("ApiResponses5xx", status >= 500 ? 1 : 0);
  }

  flush(service?: string): void {
    this.#write(this.#drain(service));
  }

  /** `docs` as few lines as their dimensions allow. */
  #write(docs: EmfDocument[]): void {
    while (docs.length > 0) {
      const one: Combined = { members: {}, directives: [] };
      docs = combine(one, docs);
      this.out(JSON.stringify({ _aws: new EmfMetadata(Date.now(), one.directives), ...one.members }));
    }
  }

  /** The pending values as EMF documents (of `service`, or all), cleared from the groups. */
  #drain(service?: string): EmfDocument[] {
    const docs: EmfDocument[] = [];
    for (const group of this.#groups.values()) {
      if ((service !== undefined && group.service !== service) || !group.metrics.hasStoredMetrics()) continue;
      docs.push(group.metrics.serializeMetrics() as unknown as EmfDocument);
      group.metrics.clearMetrics();
    }
    return docs;
  }

  #schedule(): void {
    if (this.#timer) return;
    pendingAtExit.add(this);
    if (!exitHookSet) {
      exitHookSet = true;
      process.once("exit", () => {
        for (const metrics of pendingAtExit) metrics.flush();
      });
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      pendingAtExit.delete(this);
      this.flush();
    }, FLUSH_AFTER_MS).unref();
  }
}

/** Metrics that go nowhere: the default of a domain built without the composition root (a test's). */
export const noMetrics: Metrics = {
  enabled: false,
  record() {},
  requestLine: (_status, line) => line,
  request() {},
  flush() {},
};

/**
 * The metrics port: EMF through Powertools Metrics, or nothing when disabled.
 * @example const metrics = emfMetrics({ namespace: "Remirai", enabled: true });
 */
export function emfMetrics(options: {
  namespace: string;
  enabled: boolean;
  service?: string;
  /** Where EMF lines go: stdout, or a test's sink. */
  write?: (line: string) => void;
}): Metrics {
  if (!options.enabled) return noMetrics;
  return new EmfMetrics(
    options.namespace,
    options.service ?? PROCESS_SERVICE,
    options.write ?? ((line) => process.stdout.write(`${line}\n`)),
  );
}

/** The process's metrics port, from its settings (compose.ts, and the API before its domains are composed). */
export function metricsFor(config: { metricsNamespace: string; metricsEnabled: boolean }): Metrics {
  return emfMetrics({ namespace: config.metricsNamespace, enabled: config.metricsEnabled });
}
