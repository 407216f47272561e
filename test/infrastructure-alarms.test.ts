/**
 * The template's operations block (issue 19): the alarms, their topic and e-mail, the
 * dashboard. Each check runs on the real template, then on a copy with one plausible mistake,
 * where it must fail. The template as a whole still validates against AWS's SAM schema
 * (test/infrastructure-template.test.ts).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { METRICS } from "../backend/ports/metrics.ts";
import * as checks from "./support/alarm-checks.ts";
import { ALARM_CHECKS } from "./support/alarm-checks.ts";
import { ROOT, parseTemplate, samSchemaErrors, type Json, type Template } from "./support/sam-template.ts";
import { ofType } from "./support/template-checks.ts";

const main = parseTemplate("infrastructure/template.yaml");

describe("alarms, topic and dashboard", () => {
  for (const [name, check] of Object.entries(ALARM_CHECKS)) test(name, () => check(main));

  test("the template with them validates against the SAM schema", () => {
    assert.deepEqual(samSchemaErrors(main), []);
  });
});

describe("docs/operations.md", () => {
  const doc = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
  /** GitHub's anchor of a heading. */
  const anchors = new Set(
    [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
      m[1]!
        .toLowerCase()
        .replace(/[^\w\- ]/g, "")
        .replace(/ /g, "-"),
    ),
  );

  test("every alarm points at the section of docs/operations.md that says what to do", () => {
    for (const [id, alarm] of ofType(main, "AWS::CloudWatch::Alarm")) {
      const anchor = /docs\/operations\.md#([\w-]+)/.exec(alarm.Properties.AlarmDescription)?.[1];
      assert.ok(anchor && anchors.has(anchor), `${id}: #${anchor}`);
      assert.ok(doc.includes(`\`${id}\``), `${id} is named in its section`);
    }
  });

  test("every metric we publish is in its table", () => {
    for (const name of Object.keys(METRICS)) assert.match(doc, new RegExp(`^\\| [^|]*\`${name}\``, "m"), name);
  });
});

type Mutation = [mistake: string, check: (t: Template) => void, mutate: (r: Record<string, Json>, t: Template) => void];
const sub = (text: string) => ({ "Fn::Sub": text });

const MUTATIONS: Mutation[] = [
  ["no alarm on the image DLQ", checks.checkAlarms, (r) => delete r.ImageDeadLettersAlarm],
  [
    "the DLQ alarm watching the queue instead of its DLQ",
    checks.checkAlarms,
    (r) => (r.SynthesisDeadLettersAlarm.Properties.Dimensions[0].Value = { "Fn::GetAtt": ["SynthesisQueue", "QueueName"] }),
  ],
  ["queue age alarmed at twice the saga deadline", checks.checkAlarms, (r) => (r.ImageQueueAgeAlarm.Properties.Threshold = 1800)],
  [
    "worker errors on the wrong function",
    checks.checkAlarms,
    (r) => (r.ImageErrorsAlarm.Properties.Dimensions[0].Value = { Ref: "SweeperFunction" }),
  ],
  [
    "a misspelt EMF metric",
    checks.checkAlarms,
    (r) => (r.SagaFailuresAlarm.Properties.Metrics[1].MetricStat.Metric.MetricName = "SagaFailures"),
  ],
  [
    "an EMF alarm in another namespace than the functions'",
    checks.checkAlarms,
    (r) => {
      for (const q of r.Api5xxShareAlarm.Properties.Metrics.slice(1)) q.MetricStat.Metric.Namespace = sub("Remirai");
    },
  ],
  [
    "saga failures summed without the sweeper's",
    checks.checkAlarms,
    (r) => (r.SagaFailuresAlarm.Properties.Metrics[0].Expression = "FILL(synthesis, 0) + FILL(image, 0)"),
  ],
  ["an alarm that notifies nobody", checks.checkAlarms, (r) => delete r.ModelBreakerAlarm.Properties.AlarmActions],
  ["no throttle alarm for the API", checks.checkAlarms, (r) => delete r.ApiThrottlesAlarm],
  ["an always-on e-mail subscription", checks.checkAlarmEmail, (r) => delete r.AlarmEmailSubscription.Condition],
  ["a required e-mail address", checks.checkAlarmEmail, (_, t) => delete t.Parameters.AlarmEmail.Default],
  [
    "a worker renamed, so its service dimension matches no alarm",
    checks.checkServiceNames,
    (r) => (r.ImageFunction.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME = "image"),
  ],
  [
    "a dashboard without the tokens per hour",
    checks.checkDashboard,
    (r) => {
      const body = r.OperationsDashboard.Properties.DashboardBody;
      body["Fn::Sub"] = body["Fn::Sub"].replaceAll('"period": 3600', '"period": 300');
    },
  ],
];

describe("each check catches the mistake it exists for", () => {
  for (const [mistake, check, mutate] of MUTATIONS) {
    test(`${mistake} → ${check.name} fails`, () => {
      // Prepare
      const copy = structuredClone(main);
      assert.doesNotThrow(() => check(copy));
      // Act
      mutate(copy.Resources, copy);
      // Assess
      assert.throws(() => check(copy), assert.AssertionError);
    });
  }
});
