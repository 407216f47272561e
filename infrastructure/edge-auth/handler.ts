/**
 * CloudFront viewer-request function (Lambda@Edge) in front of `/api/*`. It is the only
 * thing the API trusts for identity in `AUTH_MODE=edge` (backend/api/identify.ts):
 *
 *   viewer ──> strip client x-user-*, x-remirai-token, x-viewer-ip
 *          ──> two Authorization headers? 401 (which one counts would depend on order)
 *          ──> Bearer JWT? verify (ES256, iss, aud, exp, iat, lifetime) ── bad ──> 401
 *          ──> none: public route? else 401
 *          ──> POST/PUT/PATCH: body truncated or over the API's limit → 413, else x-amz-content-sha256 = sha256(body)
 *          ──> inject x-user-uid, x-user-email, x-remirai-token, x-viewer-ip; drop Authorization
 *          ──> origin (Function URL; CloudFront's OAC signs with SigV4)
 *
 * The API re-verifies `x-remirai-token`, so this is the first of two locks, not the only one.
 * Only headers CloudFront allows a viewer-request function to add are ever set.
 */
import { createHash } from "node:crypto";
import type {
  CloudFrontHeaders,
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontRequestResult,
  CloudFrontResultResponse,
} from "aws-lambda";
import { errors, importSPKI, jwtVerify, type CryptoKey } from "jose";
import { bakedConfig } from "./baked-config.ts";
import type { EdgeAuthConfig } from "./config.ts";

/** Same rules as backend/identity/tokens.ts: the API repeats this check. */
const ALG = "ES256";
const CLOCK_TOLERANCE_SECONDS = 30;
const UID = /^[A-Za-z0-9_.:@-]{1,300}$/;
/** Printable ASCII, no CR/LF: it becomes a header value (the API falls back to the token's). */
const HEADER_SAFE_EMAIL = /^[\x21-\x7e]{3,320}$/;

/** Client-sent headers that only this function may set. */
const isIdentityHeader = (name: string) => name.startsWith("x-user-") || name === "x-remirai-token" || name === "x-viewer-ip";

/**
 * Routes anyone may call without a token (DESIGN §5, "anyone"), as CloudFront forwards them:
 * with the `/api` prefix, path not decoded. Matching the raw path is fail-closed: an encoded
 * variant of a public path just needs a token. HEAD rides on GET routes.
 */
const PUBLIC_ROUTES: ReadonlyArray<readonly [methods: readonly string[], path: RegExp]> = [
  [["GET", "HEAD"], /^\/api\/v1\/surveys\/[^/]+$/],
  [["POST"], /^\/api\/v1\/surveys\/[^/]+\/responses$/],
  [["GET", "HEAD"], /^\/api\/v1\/personas\/[^/]+\/card$/],
  [["POST"], /^\/api\/v1\/auth\/google$/],
  [["GET", "HEAD"], /^\/api\/(?:healthz|readyz)$/],
];

export function isPublicRoute(method: string, uri: string): boolean {
  if (method === "OPTIONS") return true; // CORS preflights never carry credentials
  return PUBLIC_ROUTES.some(([methods, path]) => methods.includes(method) && path.test(uri));
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

type Verified = { uid: string; email: string | undefined; token: string };

/**
 * The viewer-request handler for a given configuration (tests pass their own; the deployed
 * bundle uses the one baked in at build time).
 * @example export const handler = createViewerRequestHandler({ publicKeyPem, issuer, audience, bodyLimitBytes, tokenTtlSeconds });
 */
export function createViewerRequestHandler(config: EdgeAuthConfig | undefined) {
  let key: Promise<CryptoKey> | undefined;
  const verificationKey = () => (key ??= importSPKI(config!.publicKeyPem, ALG));

  async function verify(token: string): Promise<Verified | CloudFrontResultResponse> {
    let cryptoKey: CryptoKey;
    try {
      cryptoKey = await verificationKey();
    } catch {
      key = undefined;
      return failure(500, "internal", "The edge authorizer is misconfigured");
    }
    try {
      const { payload } = await jwtVerify(token, cryptoKey, {
        algorithms: [ALG],
        typ: "JWT",
        issuer: config!.issuer,
        audience: config!.audience,
        requiredClaims: ["exp", "iat", "sub", "jti"],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        // Also refuses an `iat` in the future (beyond the tolerance).
        maxTokenAge: config!.tokenTtlSeconds,
      });
      if (payload.exp! - payload.iat! > config!.tokenTtlSeconds) {
        return unauthorized(`Invalid token: the token's lifetime exceeds the maximum of ${config!.tokenTtlSeconds} seconds`);
      }
      const { sub, email } = payload;
      if (typeof sub !== "string" || !UID.test(sub) || typeof email !== "string") {
        return unauthorized("Invalid token: the token's claims are malformed");
      }
      return { uid: sub, email: HEADER_SAFE_EMAIL.test(email) ? email : undefined, token };
    } catch (error) {
      // jose's reason (e.g. `"exp" claim timestamp check failed`), never the token itself.
      if (error instanceof errors.JOSEError) return unauthorized(`Invalid token: ${error.message}`);
      return failure(500, "internal", "The token could not be checked");
    }
  }

  return async function handler(event: CloudFrontRequestEvent): Promise<CloudFrontRequestResult> {
    const request = event.Records[0]!.cf.request;
    // A bundle baked before the lifetime was part of the configuration must not skip that check.
    if (!config || !(config.tokenTtlSeconds > 0))
      return failure(500, "internal", "The edge authorizer was built without its configuration");
    const headers = request.headers;
    for (const name of Object.keys(headers)) {
      if (isIdentityHeader(name.toLowerCase())) delete headers[name];
    }

    // CloudFront hands repeated headers over as one array: more than one is ambiguous.
    if ((headers.authorization?.length ?? 0) > 1) return unauthorized("Send one Authorization header, not several");
    const authorization = headers.authorization?.[0]?.value;
    let caller: Verified | undefined;
    if (authorization !== undefined) {
      const token = /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
      if (token === undefined) return unauthorized("The Authorization header must be `Bearer <token>`");
      const result = await verify(token);
      if ("status" in result) return result;
      caller = result;
    } else if (!isPublicRoute(request.method, request.uri)) {
      return unauthorized("Sign-in required", "Bearer");
    }

    const payloadHash = BODY_METHODS.has(request.method) ? hashBody(request, config.bodyLimitBytes) : undefined;
    if (payloadHash === "too_large") {
      return failure(413, "payload_too_large", `The request body exceeds ${config.bodyLimitBytes} bytes`);
    }

    // CloudFront's OAC signs the origin request with SigV4 and owns Authorization from here.
    delete headers.authorization;
    delete headers["x-amz-content-sha256"];
    if (payloadHash !== undefined) set(headers, "X-Amz-Content-Sha256", payloadHash);
    set(headers, "X-Viewer-Ip", request.clientIp);
    if (caller) {
      set(headers, "X-User-Uid", caller.uid);
      if (caller.email !== undefined) set(headers, "X-User-Email", caller.email);
      set(headers, "X-Remirai-Token", caller.token);
    }
    return request;
  };
}

/**
 * Hex SHA-256 of the body as the viewer sent it (Lambda refuses unsigned payloads behind
 * OAC). A viewer-request function sees at most 40 KB of it and CloudFront marks the rest
 * truncated: such a body cannot be hashed, so it cannot be signed. One within that but over
 * the API's limit is refused here too, so both ends refuse the same bodies.
 */
function hashBody(request: CloudFrontRequest, limit: number): string | "too_large" {
  const body = request.body;
  if (body?.inputTruncated) return "too_large";
  const bytes = Buffer.from(body?.data ?? "", body?.encoding === "text" ? "utf8" : "base64");
  if (bytes.length > limit) return "too_large";
  return createHash("sha256").update(bytes).digest("hex");
}

function set(headers: CloudFrontHeaders, key: string, value: string): void {
  headers[key.toLowerCase()] = [{ key, value }];
}

function unauthorized(message: string, challenge = 'Bearer error="invalid_token"'): CloudFrontResultResponse {
  return failure(401, "unauthorized", message, { "WWW-Authenticate": challenge });
}

const REASONS: Record<number, string> = { 401: "Unauthorized", 413: "Payload Too Large", 500: "Internal Server Error" };

/** The API's error shape (`{"error": {"code", "message", "request_id"}}`), generated at the edge. */
function failure(status: 401 | 413 | 500, code: string, message: string, extra: Record<string, string> = {}): CloudFrontResultResponse {
  const headers: CloudFrontHeaders = {};
  const all = { "Content-Type": "application/json", "Cache-Control": "no-store", ...extra };
  for (const [key, value] of Object.entries(all)) set(headers, key, value);
  return {
    status: String(status),
    statusDescription: REASONS[status],
    headers,
    body: JSON.stringify({ error: { code, message, request_id: null } }),
  };
}

export const handler = createViewerRequestHandler(bakedConfig);
