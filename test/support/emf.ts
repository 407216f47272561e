/**
 * CloudWatch Embedded Metric Format documents as a test reads them: checked against the
 * specification — its JSON schema (vendor/schemas/emf.schema.json, from the CloudWatch user
 * guide) and the rules the schema cannot say (every reference names a root member; a metric's
 * value is a number or at most 100 numbers; a dimension's value a string) — and against our own
 * catalogue (backend/ports/metrics.ts: namespace, units, low-cardinality dimensions only).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { METRICS, type MetricName } from "../../backend/ports/metrics.ts";
import { ROOT } from "./sam-template.ts";

export type Json = any;

const validate = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(join(ROOT, "vendor/schemas/emf.schema.json"), "utf8")));

/** The dimensions a metric may have: nothing that names a user, a saga or a chat. */
export const LOW_CARDINALITY = new Set(["service", "step", "reason", "call", "kind", "outcome", "dependency"]);
const DAY_MS = 24 * 3600 * 1000;

/** Why `doc` is not a valid EMF document of ours; empty when it is. */
export function emfProblems(doc: Json, namespace: string): string[] {
  const problems: string[] = [];
  if (!validate(doc)) problems.push(...(validate.errors ?? []).map((e) => `schema: ${e.instancePath} ${e.message}`));
  const aws = doc?._aws;
  if (!aws) return problems;
  const age = Date.now() - aws.Timestamp;
  if (!(age > -2 * 3600 * 1000 && age < 14 * DAY_MS)) problems.push(`Timestamp ${aws.Timestamp} is outside what CloudWatch accepts`);
  for (const directive of aws.CloudWatchMetrics ?? []) {
    if (directive.Namespace !== namespace) problems.push(`namespace ${directive.Namespace}`);
    if ((directive.Metrics ?? []).length > 100) problems.push("more than 100 metric definitions");
    for (const set of directive.Dimensions ?? []) {
      if (!set.includes("service")) problems.push(`dimension set ${set} without service`);
      for (const key of set) {
        if (typeof doc[key] !== "string" || doc[key].length === 0 || doc[key].length > 1024) problems.push(`dimension ${key}: ${doc[key]}`);
        if (!LOW_CARDINALITY.has(key)) problems.push(`dimension ${key} is not one of ours`);
      }
    }
    for (const { Name, Unit } of directive.Metrics ?? []) {
      const value = doc[Name];
      const numbers = Array.isArray(value) ? value : [value];
      if (numbers.length === 0 || numbers.length > 100 || !numbers.every((n) => typeof n === "number" && Number.isFinite(n)))
        problems.push(`metric ${Name}: ${JSON.stringify(value)}`);
      const spec = METRICS[Name as MetricName];
      if (!spec) problems.push(`metric ${Name} is not in the catalogue`);
      else if (spec.unit !== Unit) problems.push(`metric ${Name} in ${Unit}, not ${spec.unit}`);
    }
  }
  return problems;
}

/** One metric as a document publishes it: under each of its dimension sets. */
export interface Observation {
  name: string;
  unit: string;
  /** Dimension key → value, `service` included. */
  dimensions: Record<string, string>;
  values: number[];
}

/** Every metric value in `docs`, once per dimension set. */
export function observations(docs: Json[]): Observation[] {
  return docs.flatMap((doc) =>
    (doc._aws.CloudWatchMetrics as Json[]).flatMap((directive) =>
      (directive.Dimensions as string[][]).flatMap((set) =>
        (directive.Metrics as Json[]).map(({ Name, Unit }) => ({
          name: Name,
          unit: Unit,
          dimensions: Object.fromEntries(set.map((key) => [key, doc[key]])),
          values: [doc[Name]].flat(),
        })),
      ),
    ),
  );
}

/** The sum of a metric's values whose dimensions are exactly `dimensions`. */
export function total(all: Observation[], name: string, dimensions: Record<string, string>): number {
  const same = (o: Observation) =>
    o.name === name &&
    Object.keys(o.dimensions).length === Object.keys(dimensions).length &&
    Object.entries(dimensions).every(([k, v]) => o.dimensions[k] === v);
  return all.filter(same).reduce((sum, o) => sum + o.values.reduce((a, b) => a + b, 0), 0);
}
