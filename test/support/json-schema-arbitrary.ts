/**
 * Values that fit a JSON Schema (the subset the contract's request bodies use: objects,
 * arrays, strings with lengths or patterns, integers and numbers with bounds, booleans,
 * const, enum, anyOf/oneOf, local `$ref`s). The fuzzer builds each route's valid bodies from
 * the route's own contract schema with it, so a new route or field is fuzzed the day it is
 * added. Refinements JSON Schema cannot say (a trimmed name, no control characters) may
 * still refuse some of these: they are "shaped right", and the mutations do the rest.
 */
import fc from "fast-check";

export type JsonSchema = {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
};

/** Ordinary values stay short; a schema's own maximum is reached by the mutations' huge strings. */
const SPAN = 40;

/**
 * @param overrides Values for properties by name (e.g. real ids for `persona_id`).
 * @example fc.sample(arbitraryFor(z.toJSONSchema(op.body, { io: "input" })), 3)
 */
export function arbitraryFor(
  schema: JsonSchema,
  overrides: Record<string, fc.Arbitrary<unknown>> = {},
  root: JsonSchema = schema,
): fc.Arbitrary<unknown> {
  const next = (s: JsonSchema) => arbitraryFor(s, overrides, root);
  if (schema.$ref) return next(resolve(schema.$ref, root));
  if ("const" in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices) return fc.oneof(...choices.map(next));
  if (schema.allOf?.length === 1) return next(schema.allOf[0]!);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const entries = Object.entries(schema.properties ?? {});
      const shape = Object.fromEntries(entries.map(([key, sub]) => [key, overrides[key] ?? next(sub)]));
      return fc.record(shape, { requiredKeys: schema.required ?? [] });
    }
    case "array": {
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? minLength + 5, minLength + 5);
      return fc.uniqueArray(next(schema.items ?? {}), { minLength, maxLength, selector: (v) => JSON.stringify(v) });
    }
    case "string": {
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      const minLength = schema.minLength ?? 0;
      return fc.string({ minLength, maxLength: Math.min(schema.maxLength ?? minLength + SPAN, minLength + SPAN), unit: "grapheme" });
    }
    case "integer":
      return fc.integer({ min: lower(schema) ?? -1_000, max: upper(schema) ?? 1_000 });
    case "number":
      return fc.double({
        min: schema.minimum ?? schema.exclusiveMinimum ?? -1e6,
        max: schema.maximum ?? schema.exclusiveMaximum ?? 1e6,
        minExcluded: schema.exclusiveMinimum !== undefined,
        maxExcluded: schema.exclusiveMaximum !== undefined,
        noNaN: true,
      });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function resolve(ref: string, root: JsonSchema): JsonSchema {
  const name = /^#\/\$defs\/(.+)$/.exec(ref)?.[1];
  const found = name === undefined ? undefined : root.$defs?.[name];
  if (!found) throw new Error(`unsupported $ref ${ref}`);
  return found;
}

const lower = (s: JsonSchema) => s.minimum ?? (s.exclusiveMinimum === undefined ? undefined : Math.floor(s.exclusiveMinimum) + 1);
const upper = (s: JsonSchema) => s.maximum ?? (s.exclusiveMaximum === undefined ? undefined : Math.ceil(s.exclusiveMaximum) - 1);
