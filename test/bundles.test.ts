/**
 * The deployable bundles: `scripts/build.ts` run as `npm run build` runs it (into a temp
 * dir), then the artifacts themselves — the API started from its bundle through its run.sh
 * (not from sources) answers /healthz and keeps its default AUTH_MODE closed, starts without
 * loading the Gemini SDK; the edge bundle verifies with the key baked into it and stays far
 * under Lambda@Edge's 1 MB. Start-up time is measured by `npm run bench` (section 5), not
 * here: a time is not a pass or a fail.
 *
 * Only the API and edge bundles are built here: the worker entries are optional to the
 * build (skipped when absent), and this suite must not depend on them.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import type { CloudFrontRequestEvent, CloudFrontResultResponse } from "aws-lambda";
import { SignJWT, importPKCS8 } from "jose";
import { EDGE_LIMIT_BYTES, build } from "../scripts/build.ts";
import { watch } from "./support/contract-watch.ts";
import { ROOT } from "./support/sam-template.ts";

const run = promisify(execFile);
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const PUBLIC_PEM = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
const PRIVATE_PEM = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const BAKED = { JWT_ISSUER: "https://bundle-test.remirai.app", JWT_AUDIENCE: "bundle-test", JWT_TTL_SECONDS: "600" };
/**
 * The API's environment in Lambda, minus AWS: it must start and answer /healthz without any.
 * No AUTH_MODE: the default must be the closed one.
 */
const API_ENV = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, PORT: "0", HOST: "127.0.0.1" };

let outDir: string;
let buildOutput: string;
before(async () => {
  outDir = await mkdtemp(join(tmpdir(), "remirai-bundles-"));
  const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/build.ts", "--outdir", outDir, "--only", "api,edge-auth"], {
    cwd: ROOT,
    env: { ...process.env, EDGE_JWT_PUBLIC_KEY: PUBLIC_PEM, ...BAKED },
  });
  buildOutput = stdout;
});
after(() => rm(outDir, { recursive: true, force: true }));

/** Every file of a bundle directory (entry, lazy chunks, maps). */
const filesOf = async (name: string) => {
  const dir = join(outDir, name);
  const names = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".mjs") || f.endsWith(".map"));
  return Promise.all(names.map(async (f) => ({ name: f, content: await readFile(join(dir, f)) })));
};
const sizeOf = async (name: string) => {
  const files = await filesOf(name);
  const bytes = (suffix: string) => files.filter((f) => f.name.endsWith(suffix)).reduce((n, f) => n + f.content.length, 0);
  return { code: bytes(".mjs"), map: bytes(".map"), gzip: gzipSync(Buffer.concat(files.map((f) => f.content))).length };
};
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

describe("the build", () => {
  test("reports each bundle it built with its size on disk", async () => {
    // What a developer watches the edge limit and the cold-start weight by.
    for (const name of ["api", "edge-auth"]) {
      const line = new RegExp(`^\\s+${name}\\s+code\\s+([\\d.]+) KiB\\s+maps\\s+([\\d.]+) KiB`, "m").exec(buildOutput);
      assert.ok(line, `${name} is reported:\n${buildOutput}`);
      const size = await sizeOf(name);
      assert.deepEqual([`${line[1]} KiB`, `${line[2]} KiB`], [kib(size.code), kib(size.map)], name);
    }
  });

  test("skips, with a warning, an entry whose source does not exist yet", async () => {
    const warnings: string[] = [];
    const built = await build({
      outDir,
      bundles: [{ name: "ghost", entry: "backend/workers/ghost.ts", target: "node24" }],
      warn: (m) => warnings.push(m),
    });
    assert.deepEqual(built, []);
    assert.match(warnings.join("\n"), /skipping ghost: backend\/workers\/ghost\.ts does not exist yet/);
  });

  test("refuses a private key for the edge bundle", async () => {
    const bundles = [{ name: "edge-auth", entry: "infrastructure/edge-auth/handler.ts", target: "node22" }];
    await assert.rejects(
      build({ outDir: join(outDir, "refused"), bundles, env: { EDGE_JWT_PUBLIC_KEY: PRIVATE_PEM } }),
      /holds a private key/,
    );
  });
});

describe("the edge bundle", () => {
  test("is far under Lambda@Edge's 1 MB viewer-request limit", async (t) => {
    const size = await sizeOf("edge-auth");
    t.diagnostic(`edge-auth: ${kib(size.code)} code, ${kib(size.map)} map, ${kib(size.gzip)} gzipped`);
    assert.ok(size.code + size.map < EDGE_LIMIT_BYTES / 4, "even unzipped, under a quarter of the limit");
  });

  test("carries the public key, issuer and audience it was built with, and nothing private", async () => {
    const code = (await filesOf("edge-auth")).map((f) => f.content.toString("utf8")).join("\n");
    assert.doesNotMatch(code, /PRIVATE KEY/);
    assert.ok(code.includes(BAKED.JWT_ISSUER) && code.includes(BAKED.JWT_AUDIENCE));
  });

  test("verifies tokens with the baked configuration", async () => {
    const { handler } = (await import(pathToFileURL(join(outDir, "edge-auth", "index.mjs")).href)) as {
      handler: (e: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse & { headers: Record<string, Array<{ value: string }>> }>;
    };
    const now = Math.floor(Date.now() / 1000);
    const sign = async (iss: string, lifetime = 60) =>
      new SignJWT({ sub: "g_1", email: "a@example.com", iss, aud: BAKED.JWT_AUDIENCE, iat: now, exp: now + lifetime, jti: "j" })
        .setProtectedHeader({ alg: "ES256", typ: "JWT" })
        .sign(await importPKCS8(PRIVATE_PEM, "ES256"));
    const event = (token: string): CloudFrontRequestEvent => ({
      Records: [
        {
          cf: {
            config: { distributionDomainName: "d.cloudfront.net", distributionId: "E1", eventType: "viewer-request", requestId: "r" },
            request: {
              clientIp: "198.51.100.1",
              method: "GET",
              uri: "/api/v1/me",
              querystring: "",
              headers: { authorization: [{ key: "Authorization", value: `Bearer ${token}` }] },
            },
          },
        },
      ],
    });
    assert.equal((await handler(event(await sign(BAKED.JWT_ISSUER)))).headers["x-user-uid"]?.[0]?.value, "g_1");
    assert.equal((await handler(event(await sign("https://remirai.app")))).status, "401");
    // JWT_TTL_SECONDS=600 at build time: the same setting the API signs and verifies with.
    assert.equal((await handler(event(await sign(BAKED.JWT_ISSUER, 600)))).headers["x-user-uid"]?.[0]?.value, "g_1");
    assert.equal((await handler(event(await sign(BAKED.JWT_ISSUER, 601)))).status, "401");
  });
});

describe("the API bundle", () => {
  const children = new Set<ChildProcess>();
  after(() => {
    for (const child of children) child.kill("SIGKILL");
  });

  /** Starts the bundle through run.sh, as the Lambda Web Adapter does; resolves with its URL. */
  async function startFromBundle(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn("sh", [join(outDir, "api", "run.sh")], { cwd: tmpdir(), env: API_ENV, stdio: ["ignore", "pipe", "inherit"] });
    children.add(child);
    child.once("exit", () => children.delete(child));
    for await (const line of createInterface({ input: child.stdout! })) {
      const url = /"message":"api listening".*"url":"([^"]+)"/.exec(line)?.[1];
      if (url) {
        // The production API from its bundle: what it answers is checked against the contract.
        child.once("exit", watch(url));
        return { child, url };
      }
    }
    throw new Error("the API bundle exited before listening");
  }

  test("started from the bundle (not sources) answers /healthz, and stops on SIGTERM", async () => {
    // Prepare
    const { child, url } = await startFromBundle();
    // Act
    const direct = await fetch(`${url}/healthz`);
    const prefixed = await fetch(`${url}/api/healthz`);
    // Assess
    assert.equal(direct.status, 200);
    assert.deepEqual(await direct.json(), { status: "ok" });
    assert.equal(prefixed.status, 200, "the /api prefix CloudFront forwards is stripped");
    const forged = await fetch(`${url}/v1/me`, { headers: { "x-user-uid": "mallory" } });
    assert.equal(forged.status, 401, "without AUTH_MODE, a client-sent x-user-uid is refused (edge mode)");
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0, "graceful shutdown through run.sh's exec");
  });

  test("starts without loading the Gemini SDK, even with a key: the SDK is a chunk loaded on the first model call", async () => {
    // Prepare: the chunks that hold the SDK (its API host is in their code).
    const dir = join(outDir, "api");
    const sdkChunks = (await filesOf("api"))
      .filter((f) => f.name.endsWith(".mjs") && f.content.includes("generativelanguage.googleapis.com"))
      .map((f) => f.name);
    assert.ok(sdkChunks.length > 0, "the bundle carries the SDK");
    // Act: import the bundle (module evaluation up to a listening server) in a fresh process
    // that records every module it loads.
    const probe = [
      'import { registerHooks } from "node:module";',
      "const loaded = [];",
      "registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });",
      "await import(process.argv[1]);",
      'console.log("LOADED=" + JSON.stringify(loaded));',
      "process.exit(0);",
    ].join("\n");
    const entry = pathToFileURL(join(dir, "index.mjs")).href;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe, entry], {
      env: { ...API_ENV, GEMINI_API_KEY: "a-key" },
      cwd: tmpdir(),
    });
    const urls = JSON.parse(/^LOADED=(.*)$/m.exec(stdout)![1]!) as string[];
    const loaded = urls.filter((u) => u.startsWith("file:")).map((u) => relative(dir, fileURLToPath(u)));
    // Assess: the recording saw the entry and its static chunks, and none holding the SDK.
    assert.ok(loaded.includes("index.mjs") && loaded.some((name) => name.startsWith("chunks/")), `loads were recorded: ${loaded}`);
    assert.deepEqual(
      sdkChunks.filter((name) => loaded.includes(name)),
      [],
      "no chunk with the Gemini SDK is loaded at start-up",
    );
  });
});
