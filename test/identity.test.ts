/**
 * Sign-in with Google and who the API thinks is calling, in each AUTH_MODE, over HTTP
 * against DynamoDB Local (and, for API Gateway, through the real event adapter).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { apiGatewayHandler } from "../backend/api/adapters/api-gateway.ts";
import { NOT_CONFIGURED } from "../backend/api/domain-errors.ts";
import { issueAppToken, verifyAppToken } from "../backend/identity/tokens.ts";
import { startGoogleIssuer, type GoogleIssuer } from "./support/google-issuer.ts";
import { identityApp, identityConfig, signInRequest } from "./support/identity.ts";
import { nodeTarget, type Target } from "./support/targets.ts";
import { Table } from "../backend/data/table.ts";
import { userStore } from "../backend/identity/store.ts";

let issuer: GoogleIssuer;
const targets: Target[] = [];
before(async () => (issuer = await startGoogleIssuer()));
after(async () => {
  for (const target of targets) await target.close();
  await issuer.close();
});

async function serve(mode: "local" | "edge" | "apigw", env: Record<string, string> = {}) {
  const config = identityConfig(mode, issuer, env);
  const target = await nodeTarget(identityApp(config));
  targets.push(target);
  return { config, target };
}

const json = (body: string) => JSON.parse(body);

describe("POST /v1/auth/google", () => {
  test("a valid Google token returns our ES256 JWT, which /v1/me accepts in local and edge mode", async () => {
    // Prepare
    const { config, target } = await serve("edge");
    const local = await serve("local");
    const sub = randomUUID();
    const idToken = await issuer.idToken({ sub, email: "mirai@example.com", name: "Mirai" });

    // Act
    const startedAt = Math.floor(Date.now() / 1000);
    const res = await target.request("/v1/auth/google", signInRequest(idToken));
    const endedAt = Math.ceil(Date.now() / 1000);

    // Assess: the answer
    assert.equal(res.status, 200);
    const body = json(res.body);
    const uid = `g_${sub}`;
    // The user as GET /v1/me shows it (one profile shape, named by `user_id`).
    assert.deepEqual(
      { ...body.user, created_at: undefined },
      { user_id: uid, email: "mirai@example.com", name: "Mirai", created_at: undefined },
    );
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 86400);
    // Assess: the token's header and claims
    assert.deepEqual(decodeProtectedHeader(body.token), { alg: "ES256", typ: "JWT" });
    const claims = decodeJwt(body.token);
    assert.equal(claims.sub, uid);
    assert.equal(claims.email, "mirai@example.com");
    assert.equal(claims.iss, config.jwtIssuer);
    assert.equal(claims.aud, config.jwtAudience);
    assert.equal(claims.exp! - claims.iat!, 86400);
    assert.ok(claims.iat! >= startedAt && claims.iat! <= endedAt, "issued during the request");
    assert.match(String(claims.jti), /^[0-9a-f-]{36}$/);
    assert.equal((await verifyAppToken(body.token, config)).sub, uid);
    // Assess: /v1/me with it, as a Bearer locally and as the edge forwards it when deployed
    const viaBearer = await local.target.request("/v1/me", { headers: { authorization: `Bearer ${body.token}` } });
    const viaEdge = await target.request("/v1/me", { headers: { "x-remirai-token": body.token, "x-user-uid": uid } });
    for (const me of [viaBearer, viaEdge]) {
      assert.equal(me.status, 200);
      assert.deepEqual(
        { ...json(me.body), created_at: undefined },
        { user_id: uid, email: "mirai@example.com", name: "Mirai", created_at: undefined },
      );
      assert.ok(!Number.isNaN(Date.parse(json(me.body).created_at)));
    }
  });

  test("the user is created on first sign-in and updated on the next, keeping createdAt", async () => {
    // Prepare
    const { config, target } = await serve("edge");
    const sub = randomUUID();
    const uid = `g_${sub}`;
    assert.equal(await userStore(new Table(config.tableName)).find(uid), undefined);

    // Act
    const first = await target.request("/v1/auth/google", signInRequest(await issuer.idToken({ sub, name: "Old Name" })));
    const created = await userStore(new Table(config.tableName)).find(uid);
    const second = await target.request(
      "/v1/auth/google",
      signInRequest(await issuer.idToken({ sub, name: "New Name", email: "new@example.com" })),
    );
    const updated = await userStore(new Table(config.tableName)).find(uid);

    // Assess
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(created?.name, "Old Name");
    assert.equal(created?.picture, "https://lh3.googleusercontent.test/a/photo");
    assert.equal(updated?.name, "New Name");
    assert.equal(updated?.email, "new@example.com");
    assert.equal(updated?.createdAt, created?.createdAt);
    assert.ok(updated!.updatedAt >= created!.updatedAt);
    assert.deepEqual(json(second.body).user, { user_id: uid, email: "new@example.com", name: "New Name", created_at: created?.createdAt });
  });

  test("a body without a usable id_token is 400 naming the field", async () => {
    // Prepare
    const { target } = await serve("edge");

    // Act
    const missing = await target.request("/v1/auth/google", { ...signInRequest(undefined), body: "{}" });
    const wrongType = await target.request("/v1/auth/google", signInRequest(42));

    // Assess
    for (const res of [missing, wrongType]) {
      assert.equal(res.status, 400);
      assert.equal(json(res.body).error.code, "validation_failed");
      assert.deepEqual(
        json(res.body).error.fields.map((f: { path: string }) => f.path),
        ["id_token"],
      );
    }
  });

  test("503 when Google sign-in has no client id, or Google's keys cannot be fetched", async () => {
    // Prepare
    const unconfigured = await serve("edge", { GOOGLE_CLIENT_ID: "" });
    const keysDown = await serve("edge", { GOOGLE_JWKS_URL: `${unconfigured.target.url}/no-such-jwks` });
    const idToken = await issuer.idToken();

    // Act
    const noClient = await unconfigured.target.request("/v1/auth/google", signInRequest(idToken));
    const noKeys = await keysDown.target.request("/v1/auth/google", signInRequest(idToken));

    // Assess
    assert.equal(noClient.status, 503);
    assert.equal(json(noClient.body).error.message, NOT_CONFIGURED);
    assert.equal(noKeys.status, 503);
    assert.ok(noKeys.headers["retry-after"]);
  });
});

describe("a dependency or setting missing", () => {
  test("a 503 names no setting: the client gets a fixed message, the log the detail and the request id", async () => {
    // Prepare
    const logs: { message: string; attributes: Record<string, unknown> }[] = [];
    const logger = { info() {}, error: (message: string, attributes: Record<string, unknown>) => logs.push({ message, attributes }) };
    const config = identityConfig("local", issuer);
    const target = await nodeTarget(identityApp(config, logger));
    targets.push(target);
    const { token } = await issueAppToken({ uid: "g_42", email: "mirai@example.com" }, config);
    const publicKey = process.env.JWT_PUBLIC_KEY;
    delete process.env.JWT_PUBLIC_KEY;

    // Act
    let res: Awaited<ReturnType<typeof target.request>>;
    try {
      res = await target.request("/v1/me", { headers: { authorization: `Bearer ${token}` } });
    } finally {
      process.env.JWT_PUBLIC_KEY = publicKey;
    }

    // Assess
    assert.equal(res.status, 503);
    assert.doesNotMatch(res.body, /JWT|KEY|not set/i);
    const { error } = json(res.body);
    assert.deepEqual([error.code, error.message], ["service_unavailable", NOT_CONFIGURED]);
    const logged = logs.find((line) => line.attributes.request_id === error.request_id);
    assert.equal(logged?.attributes.status, 503);
    assert.match(String((logged?.attributes.error as { message?: string })?.message), /JWT_PUBLIC_KEY is not set/);
  });
});

describe("who is calling", () => {
  test("local mode: x-user-uid is the user, created on first /v1/me; a bad uid or token is 401", async () => {
    // Prepare
    const { config, target } = await serve("local");
    const uid = `dev-${randomUUID()}`;

    // Act
    const first = await target.request("/v1/me", { headers: { "x-user-uid": uid, "x-user-email": "dev@example.com" } });
    const again = await target.request("/v1/me", { headers: { "x-user-uid": uid } });
    const anonymous = await target.request("/v1/me");
    const malformed = await target.request("/v1/me", { headers: { "x-user-uid": "a#b" } });
    const badBearer = await target.request("/v1/me", { headers: { authorization: "Bearer nope", "x-user-uid": uid } });

    // Assess
    assert.equal(first.status, 200);
    assert.deepEqual(
      { ...json(first.body), created_at: undefined },
      { user_id: uid, email: "dev@example.com", name: null, created_at: undefined },
    );
    assert.equal((await userStore(new Table(config.tableName)).find(uid))?.createdAt, json(first.body).created_at);
    assert.deepEqual(json(again.body), json(first.body));
    for (const res of [anonymous, malformed, badBearer]) {
      assert.equal(res.status, 401);
      assert.equal(json(res.body).error.code, "unauthorized");
      assert.equal(res.headers["www-authenticate"], "Bearer");
    }
  });

  test("edge mode: a client-made x-user-uid, a mismatched token, or a bare Bearer is 401", async () => {
    // Prepare
    const { target } = await serve("edge");
    const signIn = await target.request("/v1/auth/google", signInRequest(await issuer.idToken({ sub: randomUUID() })));
    const { token, user: profile } = json(signIn.body);
    const user = { uid: profile.user_id, email: profile.email };

    // Act
    const forged = await target.request("/v1/me", { headers: { "x-user-uid": user.uid, "x-user-email": user.email } });
    const someoneElse = await target.request("/v1/me", { headers: { "x-remirai-token": token, "x-user-uid": "g_victim" } });
    const otherEmail = await target.request("/v1/me", {
      headers: { "x-remirai-token": token, "x-user-uid": user.uid, "x-user-email": "victim@example.com" },
    });
    const bearerOnly = await target.request("/v1/me", { headers: { authorization: `Bearer ${token}` } });
    const genuine = await target.request("/v1/me", { headers: { "x-remirai-token": token, "x-user-uid": user.uid } });

    // Assess
    for (const res of [forged, someoneElse, otherEmail, bearerOnly]) {
      assert.equal(res.status, 401);
      assert.equal(json(res.body).error.code, "unauthorized");
    }
    assert.equal(genuine.status, 200);
    assert.equal(json(genuine.body).user_id, user.uid);
  });

  test("apigw mode: the user comes from the authorizer's claims, never from headers", async () => {
    // Prepare
    const { config } = await serve("apigw");
    const handler = apiGatewayHandler(identityApp(config));
    const sub = `cognito-${randomUUID()}`;
    const forgedHeaders = { "x-user-uid": "mallory", "x-user-email": "mallory@example.com" };
    const v2 = (authorizer?: unknown) => ({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/v1/me",
      rawQueryString: "",
      headers: forgedHeaders,
      requestContext: { http: { method: "GET", path: "/v1/me", sourceIp: "203.0.113.9" }, ...(authorizer ? { authorizer } : {}) },
      isBase64Encoded: false,
    });
    const v1 = (authorizer: unknown) => ({
      httpMethod: "GET",
      path: "/v1/me",
      headers: forgedHeaders,
      requestContext: { identity: { sourceIp: "203.0.113.9" }, authorizer },
      body: null,
      isBase64Encoded: false,
    });
    const call = async (event: unknown) => {
      const res = (await handler(event as never)) as { statusCode: number; body: string };
      return { status: res.statusCode, body: json(res.body) };
    };

    // Act
    const jwtV2 = await call(v2({ jwt: { claims: { sub, email: "cog@example.com" }, scopes: [] } }));
    const lambdaV2 = await call(v2({ lambda: { sub } }));
    const cognitoV1 = await call(v1({ claims: { sub, email: "cog@example.com" } }));
    const lambdaV1 = await call(v1({ principalId: "x", sub }));
    const headersOnly = await call(v2());

    // Assess
    for (const res of [jwtV2, lambdaV2, cognitoV1, lambdaV1]) {
      assert.equal(res.status, 200);
      assert.equal(res.body.user_id, sub);
      assert.equal(res.body.email, "cog@example.com");
    }
    assert.equal(headersOnly.status, 401);
  });
});
