/**
 * The local front server (backend/local/front.ts) serves one origin as CloudFront does:
 * /api/* (and locally /v1/*, /healthz, /readyz) to the API, files of the web build with
 * their types, index.html for client routes, the CSP on every page, and nothing outside
 * the build however the path is spelt.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { serve, type RunningServer } from "../backend/api/adapters/node.ts";
import type { App } from "../backend/api/http.ts";
import { isClientRoute, withWebClient } from "../backend/local/front.ts";
import { buildWeb, JS_BUDGET_GZIP_BYTES } from "../scripts/build-web.ts";

const SHELL = "<!doctype html><title>shell</title>";
let root: string;
let server: RunningServer;

/** A stand-in API that names what it was asked: only the routing is under test here. */
const api: App = async (req, writer) => {
  writer.head(200, { "content-type": "application/json" }, false);
  await writer.end(JSON.stringify({ api: req.path }));
};

before(async () => {
  root = await mkdtemp(join(tmpdir(), "remirai-front-"));
  const dir = join(root, "web");
  await mkdir(join(dir, "assets"), { recursive: true });
  await writeFile(join(dir, "index.html"), SHELL);
  await writeFile(join(dir, "assets", "app-ABC123.js"), "export {};");
  await writeFile(join(root, "secret.txt"), "outside the build");
  await symlink(join(root, "secret.txt"), join(dir, "link.txt"));
  const config = {
    authMode: "local",
    googleClientId: "",
    mediaBaseUrl: "http://localhost:4566/media",
    publicBaseUrl: "http://localhost:8080",
  } as const;
  server = await serve(withWebClient(api, { dir, config }), { port: 0, host: "127.0.0.1" });
});
after(async () => {
  await server.close(0);
  await rm(root, { recursive: true, force: true });
});

/** A request with the path exactly as written (fetch would normalise `..`). */
function get(
  path: string,
  method = "GET",
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/`, { path, method }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("one origin, as CloudFront serves it", () => {
  test("client routes get the shell, uncached, with the CSP", async () => {
    for (const path of ["/", "/s/abc_DEF-123", "/chats/x", "/p/q3Zx?ref=share"]) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.body, SHELL, path);
      assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(res.headers["cache-control"], "no-cache");
      assert.match(
        String(res.headers["content-security-policy"]),
        /^default-src 'none'; script-src 'self'; .*img-src 'self' data: blob: http:\/\/localhost:4566;/,
      );
      assert.equal(res.headers["x-content-type-options"], "nosniff");
    }
  });

  test("hashed assets are served with their type and cached for a year; a missing file is 404, not the shell", async () => {
    const asset = await get("/assets/app-ABC123.js");
    const missing = await get("/assets/app-OLD999.js");
    assert.equal(asset.status, 200);
    assert.equal(asset.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(asset.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.equal(missing.status, 404);
  });

  test("/api/* goes to the API (its JSON 404s untouched), and locally /v1/*, /healthz and /readyz too", async () => {
    for (const path of ["/api/v1/surveys/x", "/api", "/v1/me", "/healthz", "/readyz"]) {
      const res = await get(path);
      assert.deepEqual(JSON.parse(res.body), { api: path }, path);
    }
  });

  test("the app's settings say which sign-in this stack offers", async () => {
    const res = await get("/config.json");
    assert.deepEqual(JSON.parse(res.body), { local_sign_in: true, google_client_id: null });
  });

  test("nothing outside the build is served, however the path is spelt", async () => {
    for (const path of [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/assets/..%2f..%2fsecret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt",
      "/link.txt",
      "/%00.js",
    ]) {
      const res = await get(path);
      assert.notEqual(res.body, "outside the build", path);
      assert.equal(res.status, 404, path);
    }
  });

  test("other methods outside /api are refused with a JSON 405; HEAD has headers only", async () => {
    const post = await get("/s/abc", "POST");
    const head = await get("/", "HEAD");
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
    assert.equal(JSON.parse(post.body).error.code, "method_not_allowed");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(head.headers["content-length"], String(SHELL.length));
  });

  test("a client route is any path without a file extension", () => {
    assert.deepEqual(["/", "/s/abc", "/p/x.y", "/favicon.svg", "/assets/app-1.js", "/chats/abc"].map(isClientRoute), [
      true,
      true,
      false,
      false,
      false,
      true,
    ]);
  });
});

describe("the build (what docs/deploy.md uploads)", () => {
  test("hashed assets linked from the shell, config.json from GOOGLE_CLIENT_ID, JavaScript within budget", async () => {
    // Act
    const built = await buildWeb({ outDir: join(root, "dist-web"), env: { GOOGLE_CLIENT_ID: "web-client.apps.googleusercontent.com" } });

    // Assess
    const shell = await readFile(join(built.dir, "index.html"), "utf8");
    assert.deepEqual((await readdir(built.dir)).sort(), ["assets", "config.json", "favicon.svg", "index.html"]);
    assert.match(built.script, /^\/assets\/app-[A-Z0-9]{8}\.js$/);
    assert.ok(shell.includes(`<script type="module" src="${built.script}"></script>`));
    assert.ok(shell.includes(`<link rel="stylesheet" href="${built.style}" />`));
    assert.deepEqual(JSON.parse(await readFile(join(built.dir, "config.json"), "utf8")), {
      local_sign_in: false,
      google_client_id: "web-client.apps.googleusercontent.com",
    });
    assert.ok(built.jsGzipBytes <= JS_BUDGET_GZIP_BYTES);
  });
});
