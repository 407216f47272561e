/**
 * SAM templates as data: parsed with CloudFormation's short-form intrinsic tags (each turned
 * into its long form, `!Ref X` → `{ Ref: "X" }`, `!GetAtt A.B` → `{ "Fn::GetAtt": ["A", "B"] }`)
 * and validated against AWS's own SAM JSON schema, vendored in `vendor/schemas/` (source and
 * version in its README).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from "yaml";

export const ROOT = resolve(import.meta.dirname, "../..");
const SCHEMA_PATH = join(ROOT, "vendor/schemas/sam.schema.json");

// Templates are untyped JSON; the checks read them as such.
export type Json = any;
export type Template = { Resources: Record<string, Json> } & Record<string, Json>;

const FUNCTIONS = [
  "Ref",
  "GetAtt",
  "Sub",
  "Join",
  "If",
  "Equals",
  "Not",
  "And",
  "Or",
  "Select",
  "Split",
  "FindInMap",
  "ImportValue",
  "Base64",
  "Cidr",
  "GetAZs",
  "Condition",
] as const;

const longForm = (name: (typeof FUNCTIONS)[number]) => (name === "Ref" || name === "Condition" ? name : `Fn::${name}`);

/** Every short-form tag, for scalars, sequences and mappings alike. */
const customTags = FUNCTIONS.flatMap(
  (name): Array<ScalarTag | CollectionTag> => [
    {
      tag: `!${name}`,
      // `!GetAtt A.B` is the scalar spelling of `Fn::GetAtt: [A, B]`.
      resolve: (value: string) => ({ [longForm(name)]: name === "GetAtt" ? value.split(/\.(.*)/s, 2) : value }),
    },
    { tag: `!${name}`, collection: "seq", resolve: (value: YAMLSeq.Parsed | YAMLMap.Parsed) => ({ [longForm(name)]: value.toJSON() }) },
    { tag: `!${name}`, collection: "map", resolve: (value: YAMLSeq.Parsed | YAMLMap.Parsed) => ({ [longForm(name)]: value.toJSON() }) },
  ],
);

/** @example const template = parseTemplate("infrastructure/template.yaml"); */
export function parseTemplate(path: string): Template {
  return parse(readFileSync(join(ROOT, path), "utf8"), { customTags, strict: true, uniqueKeys: true }) as Template;
}

let validator: ValidateFunction | undefined;

/**
 * The schema declares draft-04, which Ajv 8 has no class for (that is the separate
 * `ajv-draft-04` package). The keywords where draft-04 and draft-07 differ are `id` and
 * boolean `exclusiveMinimum`/`exclusiveMaximum`; this schema uses none of them (asserted
 * here, so a newer schema that does fails loudly), so Ajv's draft-07 class reads it exactly.
 * Compiled once: the schema is 750 KB.
 */
function samValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as Json;
  assert.equal(schema.$schema, "http://json-schema.org/draft-04/schema#");
  const divergent: string[] = [];
  (function walk(node: Json, path: string): void {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        walk(child, `${path}/${i}`);
      });
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [key, child] of Object.entries(node)) {
      const inKeywordPosition = !/\/(properties|definitions|patternProperties)$/.test(path);
      if (
        inKeywordPosition &&
        (key === "id" || ((key === "exclusiveMinimum" || key === "exclusiveMaximum") && typeof child === "boolean"))
      ) {
        divergent.push(`${path}/${key}`);
      }
      walk(child, `${path}/${key}`);
    }
  })(schema, "");
  assert.deepEqual(divergent, [], "the SAM schema uses draft-04-only keywords; validate it with ajv-draft-04");
  delete schema.$schema;
  // Not strict: the schema carries SAM's own annotation keywords (markdownDescription, …).
  validator = new Ajv({ strict: false, allErrors: true }).compile(schema);
  return validator;
}

/** Schema errors as readable lines (empty when the template is valid). */
export function samSchemaErrors(template: Template): string[] {
  const validate = samValidator();
  if (validate(template)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}
