/**
 * The Lambda@Edge viewer-request handler on CloudFront events in their real shape
 * (`Records[0].cf.request`, headers as `{ lowercase: [{ key, value }] }`, `body` as IncludeBody
 * delivers it). Tokens are minted by the API's own signer (`issueAppToken`), and what the edge
 * forwards is handed to the API's own edge-mode check, so both halves of the contract are held.
 */
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import type { CloudFrontRequest, CloudFrontRequestEvent, CloudFrontRequestResult, CloudFrontResultResponse } from "aws-lambda";
import { SignJWT, UnsecuredJWT, importPKCS8, type JWTPayload } from "jose";
import type { Request } from "../backend/api/http.ts";
import { identify } from "../backend/api/identify.ts";
import { loadConfig } from "../backend/config.ts";
import { issueAppToken } from "../backend/identity/tokens.ts";
import { edgeAuthConfigFromEnv, renderBakedConfig, type EdgeAuthConfig } from "../infrastructure/edge-auth/config.ts";
import { createViewerRequestHandler, handler as unbuiltHandler } from "../infrastructure/edge-auth/handler.ts";

const api = loadConfig({ ...process.env, AUTH_MODE: "edge" });
const edgeConfig = {
  publicKeyPem: process.env.JWT_PUBLIC_KEY!,
  issuer: api.jwtIssuer,
  audience: api.jwtAudience,
  bodyLimitBytes: api.bodyLimitBytes,
  tokenTtlSeconds: api.jwtTtlSeconds,
};
const edge = createViewerRequestHandler(edgeConfig);
const VIEWER_IP = "203.0.113.7";

type Viewer = { method?: string; uri?: string; headers?: Record<string, string>; body?: CloudFrontRequest["body"] };

/** A viewer-request event as CloudFront sends it to a function associated with IncludeBody. */
function viewerRequest({ method = "GET", uri = "/api/v1/me", headers = {}, body }: Viewer): CloudFrontRequestEvent {
  const cfHeaders: CloudFrontRequest["headers"] = { host: [{ key: "Host", value: "d111111abcdef8.cloudfront.net" }] };
  for (const [key, value] of Object.entries(headers)) cfHeaders[key.toLowerCase()] = [{ key, value }];
  const request: CloudFrontRequest = { clientIp: VIEWER_IP, method, uri, querystring: "lang=en", headers: cfHeaders };
  if (body) request.body = body;
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: "d111111abcdef8.cloudfront.net",
            distributionId: "EDFDVBD6EXAMPLE",
            eventType: "viewer-request",
            requestId: "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
          },
          request,
        },
      },
    ],
  };
}

const body = (data: string, encoding: "base64" | "text" = "base64", inputTruncated = false) =>
  ({ action: "read-only", encoding, data, inputTruncated }) as const;

function forwarded(result: CloudFrontRequestResult): CloudFrontRequest {
  assert.ok(result && !("status" in result), `expected the request to pass, got ${JSON.stringify(result)}`);
  return result as CloudFrontRequest;
}
function refused(
  result: CloudFrontRequestResult,
  status: string,
): CloudFrontResultResponse & { error: { code: string; message: string; request_id: null } } {
  assert.ok(result && "status" in result, "expected a generated response");
  const response = result as CloudFrontResultResponse;
  assert.equal(response.status, status, response.body);
  assert.equal(response.headers?.["content-type"]?.[0]?.value, "application/json");
  return { ...response, ...(JSON.parse(response.body!) as { error: { code: string; message: string; request_id: null } }) };
}
const header = (request: CloudFrontRequest, name: string) => request.headers[name]?.map((h) => h.value);

/** What the API's node adapter would make of the forwarded request (headers flattened). */
function asApiRequest(request: CloudFrontRequest): Request {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, values]) => [name, values.map((v) => v.value).join(", ")]),
  );
  return {
    method: request.method,
    path: request.uri,
    rawQuery: request.querystring,
    headers,
    remoteAddress: "127.0.0.1",
    signal: new AbortController().signal,
    body: async () => Buffer.alloc(0),
  };
}

const appToken = async (claims: { uid?: string; email?: string } = {}) =>
  (await issueAppToken({ uid: claims.uid ?? "g_42", email: claims.email ?? "mirai@example.com" }, api)).token;
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  sub: "g_42",
  email: "mirai@example.com",
  iss: api.jwtIssuer,
  aud: api.jwtAudience,
  iat: now(),
  exp: now() + 3600,
  jti: "j1",
  ...extra,
});
const sign = async (payload: JWTPayload, pem = process.env.JWT_PRIVATE_KEY!) =>
  new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "JWT" }).sign(await importPKCS8(pem, "ES256"));
const SPOOFED = {
  "X-User-Uid": "g_admin",
  "X-User-Email": "admin@example.com",
  "X-User-Role": "admin",
  "X-Remirai-Token": "forged",
  "X-Viewer-Ip": "10.0.0.1",
};
/** Headers a viewer-request function may not add (CloudFront answers 502 if it does). */
const FORBIDDEN =
  /^(x-amzn-|x-amz-cf-|x-edge-|x-accel-|connection$|keep-alive$|proxy-|te$|trailer$|transfer-encoding$|upgrade$|via$|x-real-ip$|x-forwarded-proto$|x-cache$|expect$|max-forwards$|content-length$|host$|x-amz-(?!content-sha256$))/;

describe("a valid token", () => {
  test("is swapped for verified identity headers; spoofed ones and Authorization are gone", async () => {
    // Prepare
    const token = await appToken();
    // Act
    const request = forwarded(await edge(viewerRequest({ headers: { Authorization: `Bearer ${token}`, ...SPOOFED } })));
    // Assess
    assert.deepEqual(header(request, "x-user-uid"), ["g_42"]);
    assert.deepEqual(header(request, "x-user-email"), ["mirai@example.com"]);
    assert.deepEqual(header(request, "x-remirai-token"), [token]);
    assert.deepEqual(header(request, "x-viewer-ip"), [VIEWER_IP]);
    assert.equal(request.headers.authorization, undefined);
    assert.equal(request.headers["x-user-role"], undefined);
    assert.ok(Object.keys(request.headers).every((name) => name === "host" || !FORBIDDEN.test(name)));
    for (const [name, values] of Object.entries(request.headers)) assert.equal(values[0]!.key!.toLowerCase(), name);
  });

  test("what the edge forwards is accepted by the API in edge mode as the token's holder", async () => {
    const request = forwarded(await edge(viewerRequest({ headers: { Authorization: `Bearer ${await appToken({ uid: "g_7" })}` } })));
    const caller = await identify(asApiRequest(request), api);
    assert.deepEqual(
      { ...caller, issuedAt: undefined },
      { uid: "g_7", email: "mirai@example.com", name: undefined, via: "app_token", issuedAt: undefined },
    );
    assert.ok(Number.isInteger(caller?.issuedAt), "when the token was issued (a deleted account's older tokens are refused)");
  });

  test("a non-ASCII e-mail is not put in a header (the API takes it from the token)", async () => {
    const request = forwarded(
      await edge(viewerRequest({ headers: { Authorization: `Bearer ${await appToken({ email: "mirai@例え.jp" })}` } })),
    );
    assert.equal(request.headers["x-user-email"], undefined);
    assert.equal((await identify(asApiRequest(request), api))?.email, "mirai@例え.jp");
  });
});

describe("refused with a JSON 401", () => {
  test("no token on a private route", async () => {
    const response = refused(await edge(viewerRequest({ uri: "/api/v1/surveys", method: "POST", headers: SPOOFED })), "401");
    assert.equal(response.headers?.["www-authenticate"]?.[0]?.value, "Bearer");
    assert.deepEqual(Object.keys(response.error), ["code", "message", "request_id"]);
    assert.equal(response.error.code, "unauthorized");
    assert.equal(response.error.request_id, null);
  });

  const foreign = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const attacks: Array<[string, RegExp, () => Promise<string> | string]> = [
    ["alg none", /"alg" \(Algorithm\) Header Parameter value not allowed/, () => new UnsecuredJWT(claims()).encode()],
    ["signed with a foreign key", /signature verification failed/, () => sign(claims(), foreign)],
    ["expired", /"exp" claim timestamp check failed/, () => sign(claims({ iat: now() - 7200, exp: now() - 3600 }))],
    ["wrong audience", /unexpected "aud" claim value/, () => sign(claims({ aud: "someone-else" }))],
    ["wrong issuer", /unexpected "iss" claim value/, () => sign(claims({ iss: "https://evil.example" }))],
    [
      "tampered payload",
      /signature verification failed/,
      async () => {
        const [head, , signature] = (await appToken()).split(".");
        return [head, Buffer.from(JSON.stringify(claims({ sub: "g_admin" }))).toString("base64url"), signature].join(".");
      },
    ],
    [
      "HS256 keyed with the public key",
      /"alg" \(Algorithm\) Header Parameter value not allowed/,
      () =>
        new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(process.env.JWT_PUBLIC_KEY!)),
    ],
    ["without a jti", /missing required "jti"/, () => sign(claims({ jti: undefined }))],
    [
      "issued in the future",
      /"iat" claim timestamp check failed \(it should be in the past\)/,
      () => sign(claims({ iat: now() + 3600, exp: now() + 7200 })),
    ],
    [
      "living longer than the maximum",
      /lifetime exceeds the maximum of 86400 seconds/,
      () => sign(claims({ iat: now() - 60, exp: now() - 60 + api.jwtTtlSeconds + 1 })),
    ],
    ["not a JWT", /Invalid Compact JWS/, () => "not-a-token"],
  ];
  for (const [name, reason, mint] of attacks) {
    test(`${name}, on a private route and on a public one`, async () => {
      const token = await mint();
      for (const [method, uri] of [
        ["GET", "/api/v1/me"],
        ["GET", "/api/v1/surveys/s1"],
      ] as const) {
        const response = refused(await edge(viewerRequest({ method, uri, headers: { Authorization: `Bearer ${token}` } })), "401");
        assert.match(response.error.message, reason);
        assert.match(response.headers?.["www-authenticate"]?.[0]?.value ?? "", /^Bearer error="invalid_token"$/);
      }
    });
  }

  test("control: an iat within the clock tolerance and exactly the maximum lifetime pass", async () => {
    const token = await sign(claims({ iat: now() + 20, exp: now() + 20 + api.jwtTtlSeconds }));
    const request = forwarded(await edge(viewerRequest({ headers: { Authorization: `Bearer ${token}` } })));
    assert.deepEqual(header(request, "x-user-uid"), ["g_42"]);
  });

  test("two Authorization headers, whichever comes first, on a private route and on a public one", async () => {
    const [good, bad] = [`Bearer ${await appToken()}`, "Bearer not-a-token"];
    for (const [first, second] of [
      [good, bad],
      [bad, good],
      [good, good],
    ] as const) {
      for (const uri of ["/api/v1/me", "/api/v1/surveys/s1"]) {
        const event = viewerRequest({ uri, headers: { Authorization: first } });
        event.Records[0]!.cf.request.headers.authorization!.push({ key: "Authorization", value: second });
        const response = refused(await edge(event), "401");
        assert.match(response.error.message, /one Authorization header/);
      }
    }
  });

  test("an Authorization header that is not a bearer token", async () => {
    refused(await edge(viewerRequest({ uri: "/api/v1/surveys/s1", headers: { Authorization: "Basic YTpi" } })), "401");
  });
});

describe("public routes", () => {
  const routes: Array<[string, string]> = [
    ["GET", "/api/v1/surveys/s1"],
    ["HEAD", "/api/v1/surveys/s1"],
    ["POST", "/api/v1/surveys/s1/responses"],
    ["GET", "/api/v1/personas/p1/card"],
    ["POST", "/api/v1/auth/google"],
    ["GET", "/api/healthz"],
    ["GET", "/api/readyz"],
    ["OPTIONS", "/api/v1/me"],
  ];
  for (const [method, uri] of routes) {
    test(`${method} ${uri} passes without a token, anonymous, with the viewer's IP`, async () => {
      const request = forwarded(
        await edge(viewerRequest({ method, uri, headers: SPOOFED, body: method === "POST" ? body("") : undefined })),
      );
      assert.deepEqual(
        Object.keys(request.headers).filter((n) => n.startsWith("x-user-") || n === "x-remirai-token"),
        [],
      );
      assert.deepEqual(header(request, "x-viewer-ip"), [VIEWER_IP]);
      assert.equal(await identify(asApiRequest(request), api), undefined);
    });
  }

  const privateLookalikes: Array<[string, string]> = [
    ["GET", "/api/v1/surveys/s1/summary"],
    ["PUT", "/api/v1/surveys/s1/self"],
    ["POST", "/api/v1/surveys/s1"],
    ["GET", "/api/v1/person%61s/p1/chemistry/p2"],
    ["GET", "/api/v1/surveys/s1/responses"],
    ["GET", "/api//v1/surveys/s1"],
  ];
  for (const [method, uri] of privateLookalikes) {
    test(`${method} ${uri} needs a token`, async () => {
      refused(await edge(viewerRequest({ method, uri, body: body("") })), "401");
    });
  }
});

describe("request bodies (signed by CloudFront's OAC)", () => {
  const json = JSON.stringify({ answers: { q1: "Ünïcode ✓" } });
  const sha256 = (bytes: string | Buffer) => createHash("sha256").update(bytes).digest("hex");

  for (const method of ["POST", "PUT", "PATCH"]) {
    test(`${method}: x-amz-content-sha256 is the SHA-256 of the decoded body`, async () => {
      const token = await appToken();
      const base64 = forwarded(
        await edge(
          viewerRequest({
            method,
            uri: "/api/v1/x",
            headers: { Authorization: `Bearer ${token}`, "X-Amz-Content-Sha256": "0".repeat(64) },
            body: body(Buffer.from(json).toString("base64")),
          }),
        ),
      );
      assert.deepEqual(header(base64, "x-amz-content-sha256"), [sha256(Buffer.from(json))]);
      const text = forwarded(
        await edge(viewerRequest({ method, uri: "/api/v1/x", headers: { Authorization: `Bearer ${token}` }, body: body(json, "text") })),
      );
      assert.deepEqual(header(text, "x-amz-content-sha256"), [sha256(Buffer.from(json))]);
    });
  }

  test("an empty body hashes as the empty string", async () => {
    const request = forwarded(await edge(viewerRequest({ method: "POST", uri: "/api/v1/auth/google", body: body("") })));
    assert.deepEqual(header(request, "x-amz-content-sha256"), [sha256("")]);
  });

  test("a GET carries no payload hash, even one the viewer sent", async () => {
    const request = forwarded(await edge(viewerRequest({ uri: "/api/healthz", headers: { "X-Amz-Content-Sha256": "f".repeat(64) } })));
    assert.equal(request.headers["x-amz-content-sha256"], undefined);
  });

  test("a body of exactly the API's limit is signed; one byte more is 413, as the API answers", async () => {
    // Prepare: JSON of exactly the limit, as CloudFront hands it over (base64, not truncated)
    const limit = api.bodyLimitBytes;
    const ofSize = (bytes: number) => JSON.stringify({ text: "x".repeat(bytes - '{"text":""}'.length) });
    const [fits, over] = [ofSize(limit), ofSize(limit + 1)];
    const send = (json: string) =>
      edge(viewerRequest({ method: "POST", uri: "/api/v1/surveys/s1/responses", body: body(Buffer.from(json).toString("base64")) }));

    // Act
    const accepted = forwarded(await send(fits));
    const response = refused(await send(over), "413");

    // Assess
    assert.equal(Buffer.byteLength(fits), limit);
    assert.equal(limit, 40_000, "the default is what a viewer-request function can see");
    assert.deepEqual(header(accepted, "x-amz-content-sha256"), [sha256(fits)]);
    assert.equal(response.error.code, "payload_too_large");
    assert.equal(response.error.message, `The request body exceeds ${limit} bytes`);
  });

  test("a body CloudFront marked truncated is 413", async () => {
    const response = refused(
      await edge(viewerRequest({ method: "POST", uri: "/api/v1/surveys/s1/responses", body: body("AAAA", "base64", true) })),
      "413",
    );
    assert.equal(response.error.code, "payload_too_large");
  });
});

test("unbuilt (no baked configuration) it refuses everything, even public routes", async () => {
  refused(await unbuiltHandler(viewerRequest({ uri: "/api/healthz" })), "500");
});

test("a configuration without the token lifetime (an older build) refuses everything", async () => {
  const { tokenTtlSeconds: _, ...older } = edgeConfig;
  const handler = createViewerRequestHandler(older as EdgeAuthConfig);
  refused(await handler(viewerRequest({ headers: { Authorization: `Bearer ${await appToken()}` } })), "500");
});

test("the lifetime is the API's JWT_TTL_SECONDS, baked into the configuration", () => {
  const env = { EDGE_JWT_PUBLIC_KEY: process.env.JWT_PUBLIC_KEY!, JWT_TTL_SECONDS: "600" };
  const fromApi = loadConfig(env);
  const config = edgeAuthConfigFromEnv(env, {
    issuer: fromApi.jwtIssuer,
    audience: fromApi.jwtAudience,
    bodyLimitBytes: fromApi.bodyLimitBytes,
    tokenTtlSeconds: fromApi.jwtTtlSeconds,
  });
  assert.equal(config?.tokenTtlSeconds, 600);
  assert.match(renderBakedConfig(config!), /"tokenTtlSeconds": 600/);
});
