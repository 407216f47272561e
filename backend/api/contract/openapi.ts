/**
 * The OpenAPI 3.1 document, generated from the contract: zod 4's own JSON Schema output
 * (draft 2020-12, OpenAPI 3.1's dialect) for every schema, assembled here into paths,
 * parameters, bodies, responses (error bodies per status from each route's codes) and
 * event streams. No generator library: this is all the assembly there is
 * (docs/decisions.md, "API contract (issue 15)").
 */
import { z } from "zod";
import { ERRORS, errorBody, type ErrorCode } from "./errors.ts";
import { operations } from "./index.ts";
import { errorCodes, HEADERS, type HeaderName, type Operation, type Reply } from "./operation.ts";
import { componentIds, components, named } from "./schemas.ts";

type Json = Record<string, unknown>;

const uri = (id: string) => `#/components/schemas/${id}`;
const TARGET = "draft-2020-12" as const;

/** Answers of the router itself, on any path: unknown path, wrong method, bad percent-encoding. */
export const RoutingError = named(
  "RoutingError",
  errorBody(["not_found", "method_not_allowed", "invalid_path"]),
  "What the router answers for an unknown path (404), a method the path does not have (405, with `Allow`) or a bad percent-encoding (400).",
);

/** Drops what zod writes at a schema's top, which inside an OpenAPI document would be wrong (`$id` with a fragment). */
function bare(schema: Json): Json {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** A schema as JSON Schema: a `$ref` when it is named, else inline (its named parts as `$ref`s). */
function schemaOf(schema: z.ZodType, io: "input" | "output"): Json {
  const id = components.get(schema)?.id;
  if (id) return { $ref: uri(id) };
  // Alone, zod puts named parts in local `$defs`: they point at the components instead.
  const { $defs, ...inline } = bare(z.toJSONSchema(schema, { target: TARGET, io, metadata: components, reused: "inline" }) as Json);
  const local = Object.keys(($defs ?? {}) as Json);
  const unnamed = local.filter((name) => !componentIds.has(name));
  if (unnamed.length) throw new Error(`Unnamed shared schemas ${unnamed.join(", ")}: name them`);
  return JSON.parse(JSON.stringify(inline).replace(/"#\/\$defs\/([^"]+)"/g, (_, name) => JSON.stringify(uri(name))));
}

/** Every named schema: request bodies in their input form (defaults optional), the rest as the API writes them. */
function componentSchemas(): Record<string, Json> {
  const asInput = new Set(operations.flatMap((op) => (op.body ? [components.get(op.body)?.id] : [])));
  const options = { target: TARGET, uri, reused: "inline" } as const;
  const output = z.toJSONSchema(components, { ...options, io: "output" }).schemas;
  const input = z.toJSONSchema(components, { ...options, io: "input" }).schemas;
  const out: Record<string, Json> = {};
  for (const id of Object.keys(output).sort()) {
    const read = bare(input[id] as Json);
    const written = bare(output[id] as Json);
    if (!asInput.has(id) && JSON.stringify(read) !== JSON.stringify(written)) {
      throw new Error(`Schema ${id} reads differently than it writes: name its request form apart`);
    }
    out[id] = asInput.has(id) ? read : written;
  }
  return out;
}

const headerSchemas: Record<HeaderName, Json> = {
  location: { type: "string", format: "uri" },
  etag: { type: "string" },
  "content-disposition": { type: "string" },
  "retry-after": { type: "string", pattern: "^[0-9]+$" },
  "www-authenticate": { type: "string" },
  allow: { type: "string" },
};

function headersOf(names: readonly HeaderName[]): Json | undefined {
  if (names.length === 0) return undefined;
  return Object.fromEntries(
    names.map((h) => [HEADERS[h].name, { description: HEADERS[h].description, required: true, schema: headerSchemas[h] }]),
  );
}

/** An event stream as the list of its events: each `{ event, id?, data }` with the data's schema. */
function eventStream(events: Record<string, z.ZodType>, description: string | undefined): Json {
  return {
    type: "array",
    ...(description ? { description } : {}),
    items: {
      oneOf: Object.entries(events).map(([name, data]) => ({
        title: name,
        type: "object",
        properties: { event: { const: name }, id: { type: "string" }, data: schemaOf(data, "output") },
        required: ["event", "data"],
        additionalProperties: false,
      })),
    },
  };
}

function success(reply: Reply): Json {
  const content: Json = {};
  if (reply.body) content["application/json"] = { schema: schemaOf(reply.body, "output") };
  if (reply.events) content["text/event-stream"] = { schema: eventStream(reply.events, reply.eventsDescription) };
  // Bytes (an image): OpenAPI 3.1 describes binary content by its media type alone.
  for (const type of reply.media ?? []) content[type] = {};
  const headers = headersOf(reply.headers ?? []);
  return { description: reply.description, ...(headers ? { headers } : {}), ...(Object.keys(content).length ? { content } : {}) };
}

function failure(codes: ErrorCode[]): Json {
  const headers = headersOf([...new Set(codes.flatMap((c) => (ERRORS[c] as { headers?: readonly HeaderName[] }).headers ?? []))]);
  return {
    description: codes.map((c) => `\`${c}\`: ${ERRORS[c].description}`).join("\n\n"),
    ...(headers ? { headers } : {}),
    content: { "application/json": { schema: schemaOf(errorBody(codes), "output") } },
  };
}

function responsesOf(op: Operation): Json {
  const out: Record<string, Json> = {};
  for (const [status, reply] of Object.entries(op.responses)) if (reply) out[status] = success(reply);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodes(op)) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    if (out[status]) throw new Error(`${op.operationId}: ${status} is both a reply and an error`);
    out[status] = failure(codes);
  }
  return out;
}

function parametersOf(op: Operation): Json[] {
  const path = Object.entries(op.params?.shape ?? {}).map(([name, schema]) => ({
    name,
    in: "path",
    required: true,
    schema: schemaOf(schema as z.ZodType, "input"),
  }));
  const query = Object.entries(op.query?.shape ?? {}).map(([name, schema]) => {
    const field = schema as z.ZodType;
    const { description, ...rest } = schemaOf(field, "input");
    return { name, in: "query", required: !field.safeParse(undefined).success, ...(description ? { description } : {}), schema: rest };
  });
  return [...path, ...query];
}

const SIGNED_IN = [{ bearerAuth: [] }, { localUser: [] }];

function operationOf(op: Operation): Json {
  const parameters = parametersOf(op);
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    "x-auth": op.auth,
    ...(op.auth !== "anyone" ? { security: SIGNED_IN } : op.optionalAuth ? { security: [{}, ...SIGNED_IN] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(op.body, "input") } } } } : {}),
    responses: responsesOf(op),
  };
}

/** `/v1/surveys/:survey_id` → `/v1/surveys/{survey_id}` */
export const templateOf = (path: string) => path.replace(/:(\w+)/g, "{$1}");

const DESCRIPTION = `Re:MirAI: friends answer an anonymous survey about someone; a saga turns the answers into an AI persona; its owner chats with it.

Conventions (docs/decisions.md, "API contract (issue 15)"):
- Every error is \`{"error": {"code", "message", "request_id"}}\`, plus \`fields\` (bad input) or \`details\`. One status per code.
- Lists take \`limit\` (1–100, default 50) and \`cursor\`, and return \`next_cursor\` (null at the end).
- A resource's own id is \`<kind>_id\`; a reference names its role (\`reply_id\`, \`user_message_id\`).
- Someone else's private thing is 404, never 403.
- A route that can stream answers \`Accept: text/event-stream\` with SSE and anything else with JSON of the finished result.
- URLs in bodies and \`Location\` are absolute, built from PUBLIC_BASE_URL.
- \`me\` is accepted wherever a persona id is.
- Every path answers OPTIONS (CORS preflight, 204 with \`Allow\`) and every GET also HEAD; the router answers unknown paths, wrong methods and bad percent-encodings with a \`RoutingError\`.
- Paths work with and without the \`/api\` prefix.`;

/** The whole document. Deterministic: the same contract always makes the same bytes. */
export function openApiDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const op of operations) {
    const item = (paths[templateOf(op.path)] ??= {});
    item[op.method.toLowerCase()] = operationOf(op);
  }
  return {
    openapi: "3.1.1",
    info: { title: "Re:MirAI API", version: "v1", description: DESCRIPTION },
    servers: [{ url: "/api", description: "The API behind PUBLIC_BASE_URL (the prefix is optional)." }],
    tags: [...new Set(operations.map((op) => op.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Our ES256 JWT, from POST /v1/auth/google." },
        localUser: {
          type: "apiKey",
          in: "header",
          name: "x-user-uid",
          description: "AUTH_MODE=local only (./run.sh): the user id, trusted as given. Never accepted when deployed.",
        },
      },
    },
  };
}
