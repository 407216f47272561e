/**
 * A function's environment as CloudFormation would hand it to Lambda: `Globals.Function`
 * merged with the function's own `Environment.Variables`, every intrinsic resolved against
 * test values for the stack's parameters and resources. Anything it cannot resolve throws,
 * so a template change the tests do not understand fails loudly instead of passing by luck.
 */
import assert from "node:assert/strict";
import { fn } from "./template-checks.ts";
import type { Json, Template } from "./sam-template.ts";

export interface TestStack {
  /** Parameter values; a parameter left out takes its template `Default`. */
  parameters: Record<string, string>;
  /** What `!Ref <resource>` returns (table name, queue URL, bucket name…). */
  resources: Record<string, string>;
  /** What `!GetAtt <resource>.<attribute>` returns, keyed `Resource.Attribute`. */
  attributes?: Record<string, string>;
}

const PSEUDO: Record<string, string> = {
  "AWS::Region": "us-east-1",
  "AWS::AccountId": "123456789012",
  "AWS::Partition": "aws",
  "AWS::StackName": "remirai-test",
  "AWS::URLSuffix": "amazonaws.com",
};
const NO_VALUE = Symbol("AWS::NoValue");

/**
 * @example
 * const env = functionEnvironment(parseTemplate("infrastructure/template.yaml"), "ApiFunction", stack);
 */
export function functionEnvironment(t: Template, id: string, stack: TestStack): Record<string, string> {
  const params = parameterValues(t, stack.parameters);
  const ref = (name: string): string | typeof NO_VALUE => {
    if (name === "AWS::NoValue") return NO_VALUE;
    const value = params[name] ?? PSEUDO[name] ?? stack.resources[name];
    assert.ok(value !== undefined, `${id}: no test value for !Ref ${name}`);
    return value;
  };
  const getAtt = (resource: string, attribute: string): string => {
    const value = stack.attributes?.[`${resource}.${attribute}`];
    assert.ok(value !== undefined, `${id}: no test value for !GetAtt ${resource}.${attribute}`);
    return value;
  };
  const condition = (name: string): boolean => {
    const definition = t.Conditions?.[name];
    assert.ok(definition !== undefined, `${id}: unknown condition ${name}`);
    return truth(definition);
  };
  const truth = (node: Json): boolean => {
    if (node?.Condition !== undefined) return condition(node.Condition);
    if (node?.["Fn::Equals"]) return value(node["Fn::Equals"][0]) === value(node["Fn::Equals"][1]);
    if (node?.["Fn::Not"]) return !truth(node["Fn::Not"][0]);
    if (node?.["Fn::And"]) return node["Fn::And"].every(truth);
    if (node?.["Fn::Or"]) return node["Fn::Or"].some(truth);
    assert.fail(`${id}: cannot evaluate condition ${JSON.stringify(node)}`);
  };
  const sub = (text: string, vars: Record<string, Json> = {}): string =>
    text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in vars) return String(value(vars[name]));
      const [resource, attribute] = name.split(/\.(.*)/s, 2);
      return attribute ? getAtt(resource!, attribute) : String(ref(name));
    });
  const value = (node: Json): string | typeof NO_VALUE => {
    if (typeof node === "string") return node;
    // CloudFormation turns numbers and booleans in Environment.Variables into strings.
    if (typeof node === "number" || typeof node === "boolean") return String(node);
    if (node?.Ref !== undefined) return ref(node.Ref);
    if (node?.["Fn::GetAtt"]) return getAtt(node["Fn::GetAtt"][0], node["Fn::GetAtt"][1]);
    if (node?.["Fn::If"]) {
      const [name, then, otherwise] = node["Fn::If"];
      return value(condition(name) ? then : otherwise);
    }
    if (node?.["Fn::Sub"] !== undefined) {
      const args = node["Fn::Sub"];
      return typeof args === "string" ? sub(args) : sub(args[0], args[1]);
    }
    assert.fail(`${id}: cannot resolve ${JSON.stringify(node)} in the test`);
  };

  const env: Record<string, string> = {};
  for (const [name, node] of Object.entries(fn(t, id).Environment.Variables as Record<string, Json>)) {
    const resolved = value(node);
    if (resolved !== NO_VALUE) env[name] = resolved;
  }
  return env;
}

/** Given values (checked against the parameter's constraints, as CloudFormation would) over defaults. */
function parameterValues(t: Template, given: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries((t.Parameters ?? {}) as Record<string, Json>)) {
    const value = given[name] ?? (spec.Default === undefined ? undefined : String(spec.Default));
    if (value === undefined) continue; // a missing value fails where it is used
    if (spec.AllowedPattern)
      assert.match(value, new RegExp(spec.AllowedPattern), `parameter ${name}'s test value breaks its AllowedPattern`);
    if (spec.AllowedValues) assert.ok(spec.AllowedValues.map(String).includes(value), `parameter ${name}'s test value is not allowed`);
    values[name] = value;
  }
  for (const name of Object.keys(given)) assert.ok(name in values, `the template has no parameter ${name}`);
  return values;
}
