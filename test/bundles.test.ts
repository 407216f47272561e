/**
 * The deployable bundles: `scripts/build.ts` run as `npm run build` runs it (into a temp
 * dir), then the artifacts themselves — the API started from its bundle through its run.sh
 * (not from sources) answers /healthz, the edge bundle verifies with the key baked into it
 * and stays far under Lambda@Edge's 1 MB. The API bundle's cold module-load time is
 * measured and reported as a diagnostic (no threshold: machines differ).
 *
 * Only the API and edge bundles are built here: the worker entries are optional to the
 * build (skipped when absent), and this suite must not depend on them.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import type { CloudFrontRequestEvent, CloudFrontResultResponse } from "aws-lambda";
import { SignJWT, importPKCS8 } from "jose";
import { EDGE_LIMIT_BYTES, build } from "../scripts/build.ts";
import { ROOT } from "./support/sam-template.ts";

const run = promisify(execFile);
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const PUBLIC_PEM = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
const PRIVATE_PEM = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const BAKED = { JWT_ISSUER: "https://bundle-test.remirai.app", JWT_AUDIENCE: "bundle-test", JWT_TTL_SECONDS: "600" };
/** The API's environment in Lambda, minus AWS: it must start and answer /healthz without any. */
const API_ENV = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, AUTH_MODE: "edge", PORT: "0", HOST: "127.0.0.1" };

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
  const entry = files.find((f) => f.name === "index.mjs")!.content.length;
  return { entry, code: bytes(".mjs"), map: bytes(".map"), gzip: gzipSync(Buffer.concat(files.map((f) => f.content))).length };
};
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

describe("the build", () => {
  test("prints each bundle's size", (t) => {
    assert.match(buildOutput, /^\s+api\s+code\s+[\d.]+ KiB/m);
    assert.match(buildOutput, /^\s+edge-auth\s+code\s+[\d.]+ KiB/m);
    t.diagnostic(buildOutput.trim());
  });

  test("skips, with a warning, an entry whose source does not exist yet", async () => {
    const warnings: string[] = [];
    const built = await build({ outDir, bundles: [{ name: "ghost", entry: "backend/workers/ghost.ts", target: "node24" }], warn: (m) => warnings.push(m) });
    assert.deepEqual(built, []);
    assert.match(warnings.join("\n"), /skipping ghost: backend\/workers\/ghost\.ts does not exist yet/);
  });

  test("refuses a private key for the edge bundle", async () => {
    const bundles = [{ name: "edge-auth", entry: "infrastructure/edge-auth/handler.ts", target: "node22" }];
    await assert.rejects(build({ outDir: join(outDir, "refused"), bundles, env: { EDGE_JWT_PUBLIC_KEY: PRIVATE_PEM } }), /holds a private key/);
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
      Records: [{ cf: {
        config: { distributionDomainName: "d.cloudfront.net", distributionId: "E1", eventType: "viewer-request", requestId: "r" },
        request: { clientIp: "198.51.100.1", method: "GET", uri: "/api/v1/me", querystring: "", headers: { authorization: [{ key: "Authorization", value: `Bearer ${token}` }] } },
      } }],
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
  after(() => children.forEach((child) => child.kill("SIGKILL")));

  /** Starts the bundle through run.sh, as the Lambda Web Adapter does; resolves with its URL. */
  async function startFromBundle(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn("sh", [join(outDir, "api", "run.sh")], { cwd: tmpdir(), env: API_ENV, stdio: ["ignore", "pipe", "inherit"] });
    children.add(child);
    child.once("exit", () => children.delete(child));
    for await (const line of createInterface({ input: child.stdout! })) {
      const url = /"message":"api listening".*"url":"([^"]+)"/.exec(line)?.[1];
      if (url) return { child, url };
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
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0, "graceful shutdown through run.sh's exec");
  });

  test("cold module-load time (median of 10 fresh processes)", async (t) => {
    const entry = pathToFileURL(join(outDir, "api", "index.mjs")).href;
    // Import (module evaluation up to a listening server), timed inside a fresh process.
    const probe = "const t0 = performance.now(); await import(process.argv[1]); console.log(`LOAD_MS=${performance.now() - t0}`); process.exit(0);";
    const loads: number[] = [];
    const walls: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const { stdout } = await run(process.execPath, ["--enable-source-maps", "--input-type=module", "-e", probe, entry], { env: API_ENV, cwd: tmpdir() });
      walls.push(performance.now() - started);
      loads.push(Number(/LOAD_MS=([\d.]+)/.exec(stdout)?.[1]));
    }
    assert.ok(loads.every(Number.isFinite));
    const median = (xs: number[]) => xs.toSorted((a, b) => a - b).slice(4, 6).reduce((a, b) => a + b) / 2;
    const size = await sizeOf("api");
    t.diagnostic(
      `api bundle: index.mjs ${kib(size.entry)}, ${kib(size.code)} with lazy chunks (${kib(size.gzip)} gzipped with maps); ` +
        `cold module load median ${median(loads).toFixed(1)} ms ` +
        `(min ${Math.min(...loads).toFixed(1)}, max ${Math.max(...loads).toFixed(1)}); whole process median ${median(walls).toFixed(0)} ms`,
    );
  });
});
