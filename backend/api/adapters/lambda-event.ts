/**
 * Lambda HTTP events onto the core's Request. Function URLs and HTTP APIs send payload
 * format 2.0; REST APIs (and HTTP APIs configured for 1.0) send 1.0.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from "aws-lambda";
import { PayloadTooLarge } from "../errors.ts";
import type { Request, RequestHeaders, ResponseHeaders } from "../http.ts";

export type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** Which shape an event has; the one place that sniffs. */
export function eventShape(event: unknown): "v1" | "v2" {
  const e = event as Partial<APIGatewayProxyEventV2 & APIGatewayProxyEvent> | null;
  // Payload format 2.0 (Function URL, HTTP API): `version: "2.0"` and `requestContext.http`.
  if (e?.version === "2.0" && e.requestContext && "http" in e.requestContext) return "v2";
  // Payload format 1.0 (REST API, HTTP API 1.0): the method sits at the top level.
  if (typeof e?.httpMethod === "string") return "v1";
  throw new TypeError("Unsupported Lambda event: neither an API Gateway/Function URL 2.0 nor a 1.0 HTTP event");
}

class EventRequest implements Request {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly rawQuery: string,
    readonly headers: RequestHeaders,
    readonly remoteAddress: string,
    readonly signal: AbortSignal,
    private readonly rawBody: string | null | undefined,
    private readonly base64: boolean,
    readonly authorizer?: Readonly<Record<string, unknown>>,
  ) {}

  async body(limit: number): Promise<Buffer> {
    const body = this.rawBody ? Buffer.from(this.rawBody, this.base64 ? "base64" : "utf8") : Buffer.alloc(0);
    if (body.length > limit) throw new PayloadTooLarge(limit);
    return body;
  }
}

function lowerCase(headers: Record<string, string | undefined> | null | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The claims an API Gateway authorizer attached, flattened: JWT/Cognito claims
 * (`authorizer.claims`, 2.0 `authorizer.jwt.claims`), a Lambda authorizer's context (2.0
 * `authorizer.lambda`; 1.0 puts it at the top level). IAM authorizers carry no user.
 */
function authorizerClaims(authorizer: unknown, shape: "v1" | "v2"): Readonly<Record<string, unknown>> | undefined {
  if (!isRecord(authorizer)) return undefined;
  const jwt = isRecord(authorizer.jwt) ? authorizer.jwt.claims : undefined;
  for (const claims of [authorizer.claims, jwt, authorizer.lambda]) if (isRecord(claims)) return claims;
  return shape === "v1" ? authorizer : undefined;
}

/**
 * Characters that never appear literally in a percent-encoded path. An HTTP API hands us
 * the path already decoded (REST APIs and Function URLs keep it encoded), so these are
 * encoded again and the router's one decoding pass gives back what the client sent.
 * A decoded `%2F` cannot be told from a real `/` any more: that is API Gateway's loss.
 */
const NOT_IN_ENCODED_PATH = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu;

function reencodePath(decoded: string): string {
  // `u`: whole code points; a lone surrogate cannot be UTF-8 and becomes U+FFFD.
  return decoded.replace(NOT_IN_ENCODED_PATH, (c) => (c.isWellFormed() ? encodeURIComponent(c) : "%EF%BF%BD"));
}

/**
 * An HTTP API stage other than `$default` is the first segment of the path it sends
 * (`/prod/v1/...` for the stage `prod`); our routes do not know stages.
 */
function withoutStage(path: string, stage: string | undefined): string {
  if (!stage || stage === "$default") return path;
  const prefix = `/${stage}`;
  if (path === prefix) return "/";
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
}

/**
 * Function URLs and HTTP APIs both send payload 2.0; only a Function URL's domain is
 * `<id>.lambda-url.<region>.on.aws` (also behind CloudFront, which forwards to that host).
 */
function fromHttpApi(domainName: string | undefined): boolean {
  return domainName !== undefined && !domainName.includes(".lambda-url.");
}

/** The path an HTTP API (2.0, or 1.0 with `version: "1.0"`) sent, as the router expects it. */
function httpApiPath(path: string, stage: string | undefined): string {
  return reencodePath(withoutStage(path, stage));
}

export function requestFromEvent(event: HttpEvent, signal: AbortSignal): Request {
  if (eventShape(event) === "v2") {
    const e = event as APIGatewayProxyEventV2;
    const headers = lowerCase(e.headers);
    if (e.cookies?.length) headers.cookie = e.cookies.join("; ");
    const rawPath = e.rawPath || "/";
    return new EventRequest(
      e.requestContext.http.method.toUpperCase(),
      fromHttpApi(e.requestContext.domainName) ? httpApiPath(rawPath, e.requestContext.stage) : rawPath,
      e.rawQueryString ?? "",
      headers,
      e.requestContext.http.sourceIp ?? "",
      signal,
      e.body,
      e.isBase64Encoded,
      authorizerClaims((e.requestContext as { authorizer?: unknown }).authorizer, "v2"),
    );
  }
  const e = event as APIGatewayProxyEvent;
  const headers = lowerCase(e.headers);
  for (const [name, values] of Object.entries(e.multiValueHeaders ?? {})) {
    if (values?.length) headers[name.toLowerCase()] = values.join(name.toLowerCase() === "cookie" ? "; " : ", ");
  }
  // 1.0 events carry the query decoded; re-encode it so the core sees one raw form.
  const query = new URLSearchParams();
  const multi = e.multiValueQueryStringParameters;
  if (multi) {
    for (const [name, values] of Object.entries(multi)) for (const v of values ?? []) query.append(name, v);
  } else {
    for (const [name, value] of Object.entries(e.queryStringParameters ?? {})) query.append(name, value ?? "");
  }
  // HTTP APIs mark their 1.0 events with `version`; REST APIs send none (and their `path`
  // is encoded and has no stage).
  const fromHttpApiV1 = (e as { version?: string }).version === "1.0";
  return new EventRequest(
    e.httpMethod.toUpperCase(),
    fromHttpApiV1 ? httpApiPath(e.path || "/", e.requestContext?.stage) : e.path || "/",
    query.toString(),
    headers,
    e.requestContext?.identity?.sourceIp ?? "",
    signal,
    e.body,
    e.isBase64Encoded,
    authorizerClaims(e.requestContext?.authorizer, "v1"),
  );
}

/** Splits `set-cookie` (Lambda's `cookies` list) from the other headers, joining repeats. */
export function splitCookies(headers: ResponseHeaders): { headers: Record<string, string>; cookies: string[] } {
  const flat: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name === "set-cookie") cookies = Array.isArray(value) ? value : [value];
    else flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return { headers: flat, cookies };
}
