/** GET /openapi.json: the OpenAPI 3.1 document, generated once from the contract, cacheable with its ETag. */
import { createHash } from "node:crypto";
import type { Handler } from "../framework.ts";

/**
 * Built on first request, not at start-up: a cold start pays neither for the document nor
 * for loading its generator (the JSON Schema assembly of contract/openapi.ts).
 */
let served: Promise<{ body: string; etag: string }> | undefined;

export const document: Handler = async () => {
  const { body, etag } = await (served ??= import("../contract/openapi.ts").then(({ openApiDocument }) => {
    const body = JSON.stringify(openApiDocument());
    return { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
  }));
  return {
    kind: "body",
    status: 200,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=300", etag },
    body,
  };
};
