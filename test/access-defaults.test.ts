/**
 * Who may talk to the API when nobody configured it: with AUTH_MODE unset the API is in edge
 * mode and refuses a client-made identity, and a restricted CORS_ORIGINS list lets only its
 * own origins read responses. The production app over HTTP.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createApi } from "../backend/api/index.ts";
import { loadConfig } from "../backend/config.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

const quiet = { info() {}, error() {} };

/** The production app with the test run's environment, less AUTH_MODE, plus `env`. */
async function serve(env: Record<string, string>, use: (target: Target) => Promise<void>): Promise<void> {
  const { AUTH_MODE: _set, ...unset } = process.env;
  const target = await nodeTarget(createApi(loadConfig({ ...unset, ...env }), { logger: quiet }));
  try {
    await use(target);
  } finally {
    await target.close();
  }
}

const forged = { "x-user-uid": `mallory-${process.pid}`, "x-user-email": "mallory@example.com" };

describe("AUTH_MODE", () => {
  test("unset, it is edge: a client's x-user-uid is refused with 401, never trusted", async () => {
    // Prepare: the same request that local mode (and only local mode) takes as a user.
    await serve({ AUTH_MODE: "local" }, async (local) => {
      assert.equal((await local.request("/v1/me", { headers: forged })).status, 200, "positive control: local mode trusts it");
    });
    await serve({}, async (target) => {
      // Act
      const me = await target.request("/v1/me", { headers: forged });
      const create = await target.request("/v1/surveys", { method: "POST", headers: forged });
      // Assess
      assert.equal(me.status, 401);
      assert.equal(JSON.parse(me.body).error.code, "unauthorized");
      assert.equal(create.status, 401);
    });
    assert.equal(loadConfig({}).authMode, "edge");
  });
});

describe("CORS_ORIGINS", () => {
  const listed = "https://app.remirai.test";
  const env = { AUTH_MODE: "local", CORS_ORIGINS: `${listed}, https://admin.remirai.test` };

  test("a listed origin is echoed, with Vary: origin and the exposed headers", async () => {
    await serve(env, async (target) => {
      const res = await target.request("/healthz", { headers: { origin: listed } });
      assert.equal(res.status, 200);
      assert.equal(res.headers["access-control-allow-origin"], listed);
      assert.match(String(res.headers.vary), /\borigin\b/i);
      assert.match(String(res.headers["access-control-expose-headers"]), /x-request-id/);
      assert.equal(res.headers["access-control-allow-credentials"], undefined);
    });
  });

  test("another origin gets no allow-origin header, on requests and preflights alike", async () => {
    await serve(env, async (target) => {
      // Act
      const simple = await target.request("/healthz", { headers: { origin: "https://evil.example" } });
      const preflight = (origin: string) =>
        target.request("/v1/surveys", {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
        });
      const refused = await preflight("https://evil.example");
      const allowed = await preflight(listed);
      // Assess: a browser lets no script of that origin read the answer, and a cache keeps
      // the two apart (Vary: origin on both).
      assert.equal(simple.headers["access-control-allow-origin"], undefined);
      assert.equal(refused.headers["access-control-allow-origin"], undefined);
      assert.match(String(simple.headers.vary), /\borigin\b/i);
      assert.equal(allowed.headers["access-control-allow-origin"], listed, "positive control: the listed origin's preflight passes");
      assert.match(String(allowed.headers["access-control-allow-methods"]), /POST/);
    });
  });
});
