/**
 * What issue 19 requires of the template's operations block: each alarm on the right metric of
 * the right resource with its documented threshold, every alarm notifying the one topic, the
 * e-mail subscription only when an address is given, and the dashboard's four views. Each
 * check throws an AssertionError naming what is wrong (test/infrastructure-alarms.test.ts
 * runs them on the template and on mutated copies).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../backend/config.ts";
import { SERVICES } from "../../backend/log.ts";
import { METRICS } from "../../backend/ports/metrics.ts";
import type { Json, Template } from "./sam-template.ts";
import { fn, isRef, ofType } from "./template-checks.ts";

/** A metric as an alarm names it: namespace, name, and dimensions (values as the template writes them). */
interface MetricRef {
  namespace: Json;
  metric: string;
  dimensions: Record<string, Json>;
}
interface ExpectedAlarm {
  what: string;
  metrics: MetricRef[];
  threshold: number;
  comparison: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold";
}

const ref = (id: string) => ({ Ref: id });
const att = (id: string, attribute: string) => ({ "Fn::GetAtt": [id, attribute] });
/** The stack's own namespace, as the functions are told it (Globals). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not JavaScript's
const OURS = { "Fn::Sub": "Remirai/${AWS::StackName}" };
const ours = (metric: keyof typeof METRICS, service: string): MetricRef => ({ namespace: OURS, metric, dimensions: { service } });
const queueMetric = (metric: string, queue: string): MetricRef => ({
  namespace: "AWS/SQS",
  metric,
  dimensions: { QueueName: att(queue, "QueueName") },
});
const lambda = (metric: string, fn: string): MetricRef => ({ namespace: "AWS/Lambda", metric, dimensions: { FunctionName: ref(fn) } });
const table = (metric: string, index?: string): MetricRef => ({
  namespace: "AWS/DynamoDB",
  metric,
  dimensions: { TableName: ref("Table"), ...(index ? { GlobalSecondaryIndexName: index } : {}) },
});

/** The saga deadline the sweeper enforces by default, in seconds: a message older than it belongs to a saga being failed. */
export const SAGA_DEADLINE_SECONDS = loadConfig({}).sagaTimeoutMs / 1000;

export const EXPECTED_ALARMS: ExpectedAlarm[] = [
  {
    what: "synthesis DLQ",
    metrics: [queueMetric("ApproximateNumberOfMessagesVisible", "SynthesisDeadLetterQueue")],
    threshold: 0,
    comparison: "GreaterThanThreshold",
  },
  {
    what: "image DLQ",
    metrics: [queueMetric("ApproximateNumberOfMessagesVisible", "ImageDeadLetterQueue")],
    threshold: 0,
    comparison: "GreaterThanThreshold",
  },
  {
    what: "synthesis queue age",
    metrics: [queueMetric("ApproximateAgeOfOldestMessage", "SynthesisQueue")],
    threshold: SAGA_DEADLINE_SECONDS,
    comparison: "GreaterThanThreshold",
  },
  {
    what: "image queue age",
    metrics: [queueMetric("ApproximateAgeOfOldestMessage", "ImageQueue")],
    threshold: SAGA_DEADLINE_SECONDS,
    comparison: "GreaterThanThreshold",
  },
  { what: "API errors", metrics: [lambda("Errors", "ApiFunction")], threshold: 1, comparison: "GreaterThanOrEqualToThreshold" },
  { what: "API throttles", metrics: [lambda("Throttles", "ApiFunction")], threshold: 1, comparison: "GreaterThanOrEqualToThreshold" },
  { what: "synthesis errors", metrics: [lambda("Errors", "SynthesisFunction")], threshold: 3, comparison: "GreaterThanOrEqualToThreshold" },
  { what: "image errors", metrics: [lambda("Errors", "ImageFunction")], threshold: 3, comparison: "GreaterThanOrEqualToThreshold" },
  { what: "sweeper errors", metrics: [lambda("Errors", "SweeperFunction")], threshold: 1, comparison: "GreaterThanOrEqualToThreshold" },
  {
    what: "lifecycle DLQ",
    metrics: [queueMetric("ApproximateNumberOfMessagesVisible", "LifecycleDeadLetterQueue")],
    threshold: 0,
    comparison: "GreaterThanThreshold",
  },
  {
    what: "deletion worker errors",
    metrics: [lambda("Errors", "LifecycleFunction")],
    threshold: 3,
    comparison: "GreaterThanOrEqualToThreshold",
  },
  {
    what: "DynamoDB throttling",
    metrics: [
      table("ReadThrottleEvents"),
      table("WriteThrottleEvents"),
      table("ReadThrottleEvents", "GSI1"),
      table("WriteThrottleEvents", "GSI1"),
    ],
    threshold: 5,
    comparison: "GreaterThanOrEqualToThreshold",
  },
  {
    what: "5xx share (%)",
    metrics: [ours("ApiRequests", SERVICES.api), ours("ApiResponses5xx", SERVICES.api)],
    threshold: 5,
    comparison: "GreaterThanThreshold",
  },
  {
    what: "saga failures",
    metrics: [ours("SagaFailed", SERVICES.synthesis), ours("SagaFailed", SERVICES.image), ours("SagaFailed", SERVICES.sweeper)],
    threshold: 5,
    comparison: "GreaterThanOrEqualToThreshold",
  },
  {
    what: "model breaker opened",
    metrics: [
      ours("ModelBreakerOpened", SERVICES.api),
      ours("ModelBreakerOpened", SERVICES.synthesis),
      ours("ModelBreakerOpened", SERVICES.image),
    ],
    threshold: 1,
    comparison: "GreaterThanOrEqualToThreshold",
  },
];

const key = (m: MetricRef) => JSON.stringify([m.namespace, m.metric, Object.entries(m.dimensions).sort()]);
const dimensionsOf = (list: Json[] = []) => Object.fromEntries(list.map((d: Json) => [d.Name, d.Value]));

/** The metrics an alarm reads: its own, or those of its metric math. */
function metricsOf(alarm: Json): MetricRef[] {
  if (alarm.MetricName) return [{ namespace: alarm.Namespace, metric: alarm.MetricName, dimensions: dimensionsOf(alarm.Dimensions) }];
  return (alarm.Metrics ?? [])
    .filter((q: Json) => q.MetricStat)
    .map(({ MetricStat: { Metric: m } }: Json) => ({
      namespace: m.Namespace,
      metric: m.MetricName,
      dimensions: dimensionsOf(m.Dimensions),
    }));
}

export function checkAlarms(t: Template): void {
  const topics = ofType(t, "AWS::SNS::Topic");
  assert.equal(topics.length, 1, "one alarm topic");
  const topic = topics[0]![0];
  const alarms = ofType(t, "AWS::CloudWatch::Alarm").map(([id, r]) => ({ id, props: r.Properties as Json }));
  for (const expected of EXPECTED_ALARMS) {
    const wanted = expected.metrics.map(key).sort();
    const found = alarms.filter((a) => JSON.stringify(metricsOf(a.props).map(key).sort()) === JSON.stringify(wanted));
    assert.equal(found.length, 1, `one alarm on ${expected.what}: ${wanted.join(" ")}`);
    const { id, props } = found[0]!;
    assert.equal(props.Threshold, expected.threshold, `${id}: threshold`);
    assert.equal(props.ComparisonOperator, expected.comparison, `${id}: comparison`);
    assert.match(props.AlarmDescription ?? "", /threshold .+docs\/operations\.md#/, `${id}: says its threshold and where to read about it`);
    if (props.Metrics) {
      const returned = props.Metrics.filter((q: Json) => q.ReturnData !== false);
      assert.equal(returned.length, 1, `${id}: one expression answers`);
      for (const q of props.Metrics.filter((q: Json) => q.MetricStat))
        assert.match(returned[0].Expression, new RegExp(`\\b${q.Id}\\b`), `${id}: uses ${q.Id}`);
    }
  }
  for (const { id, props } of alarms) {
    assert.ok(
      props.AlarmActions?.some((a: Json) => isRef(a, topic)),
      `${id} notifies ${topic}`,
    );
    assert.equal(props.TreatMissingData, "notBreaching", `${id}: no data is no trouble`);
    for (const m of metricsOf(props).filter((m) => m.namespace !== undefined && typeof m.namespace !== "string")) {
      assert.deepEqual(
        m.namespace,
        t.Globals.Function.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE,
        `${id}: the functions' namespace`,
      );
      assert.ok(m.metric in METRICS, `${id}: ${m.metric} is a metric we publish`);
    }
  }
}

export function checkAlarmEmail(t: Template): void {
  assert.equal(t.Parameters.AlarmEmail?.Default, "", "the e-mail is optional");
  const subscriptions = ofType(t, "AWS::SNS::Subscription");
  assert.equal(subscriptions.length, 1, "one e-mail subscription");
  const [, subscription] = subscriptions[0]!;
  assert.equal(subscription.Properties.Protocol, "email");
  assert.ok(isRef(subscription.Properties.Endpoint, "AlarmEmail"));
  assert.ok(isRef(subscription.Properties.TopicArn, ofType(t, "AWS::SNS::Topic")[0]![0]));
  assert.deepEqual(
    t.Conditions[subscription.Condition],
    { "Fn::Not": [{ "Fn::Equals": [{ Ref: "AlarmEmail" }, ""] }] },
    "only with an address",
  );
}

/** Each function says the service name its alarms' `service` dimension expects. */
export function checkServiceNames(t: Template): void {
  const named = {
    ApiFunction: SERVICES.api,
    SynthesisFunction: SERVICES.synthesis,
    ImageFunction: SERVICES.image,
    SweeperFunction: SERVICES.sweeper,
  };
  for (const [id, service] of Object.entries(named)) assert.equal(fn(t, id).Environment.Variables.POWERTOOLS_SERVICE_NAME, service, id);
}

/** The dashboard's body with its `${…}` substitutions filled in, as JSON. */
export function dashboardBody(t: Template): Json {
  const [[, dashboard] = []] = ofType(t, "AWS::CloudWatch::Dashboard");
  assert.ok(dashboard, "a dashboard");
  const body: string = dashboard.Properties.DashboardBody["Fn::Sub"];
  return JSON.parse(body.replace(/\$\{([^}]+)\}/g, (_, name: string) => `<${name}>`));
}

export function checkDashboard(t: Template): void {
  const widgets: Json[] = dashboardBody(t).widgets;
  const shows = (metric: string, where: (w: Json, row: Json[]) => boolean = () => true) =>
    widgets.some((w) => w.properties.metrics.some((row: Json[]) => row[1] === metric && where(w, row)));
  assert.ok(
    ["SagaStarted", "SagaReady", "SagaFailed"].every((m) => shows(m)),
    "the saga funnel",
  );
  assert.ok(
    shows("ChatFirstToken", (_, row) => /^p\d+$/.test(row.at(-1).stat)),
    "first-token latency percentiles",
  );
  assert.ok(
    ["ModelInputTokens", "ModelOutputTokens"].every((m) => shows(m, (w) => w.properties.period === 3600 && w.properties.stat === "Sum")),
    "model tokens per hour",
  );
  for (const dlq of ["SynthesisDeadLetterQueue", "ImageDeadLetterQueue"]) {
    assert.ok(
      shows("ApproximateNumberOfMessagesVisible", (_, row) => row[3] === `<${dlq}.QueueName>`),
      `the ${dlq}`,
    );
    assert.ok(t.Resources[dlq], dlq);
  }
  for (const w of widgets) {
    assert.equal(w.properties.region, "<AWS::Region>");
    for (const row of w.properties.metrics.filter((r: Json[]) => typeof r[0] === "string" && !r[0].startsWith("AWS/")))
      assert.equal(row[0], "Remirai/<AWS::StackName>", `${w.properties.title}: the functions' namespace`);
  }
}

export const ALARM_CHECKS = { checkAlarms, checkAlarmEmail, checkServiceNames, checkDashboard } as const;
