/**
 * Route groups load on their first request (backend/api/handlers/index.ts): the built API
 * bundle starts with the HTTP core and the route table only, and a fresh process answers its
 * very first requests to a group as it answers later ones. A group whose code cannot be
 * loaded (a chunk missing from the deployment) is answered with a JSON 500 at once, the other
 * groups keep working, and a later request loads it again.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { BUNDLES, build } from "../scripts/build.ts";
import { watch } from "./support/contract-watch.ts";
import { killEntryProcesses, startEntryProcess, type EntryProcess } from "./support/entry-process.ts";
import { as } from "./support/saga.ts";
import { ROOT } from "./support/sam-template.ts";
import { freePort } from "./support/stack.ts";

const bodyOf = async (res: Response): Promise<any> => res.json();

let outDir: string;
before(async () => {
  outDir = await mkdtemp(join(tmpdir(), "remirai-lazy-routes-"));
  await build({ outDir, bundles: BUNDLES.filter((b) => b.name === "api") });
});
after(async () => {
  killEntryProcesses();
  await rm(outDir, { recursive: true, force: true });
});

const api = () => join(outDir, "api");

/** dist/api started as the Lambda Web Adapter starts it (run.sh), on the shared DynamoDB Local, local auth. */
async function startApi(): Promise<{ process: EntryProcess; url: string; stop: () => Promise<void> }> {
  const env = {
    ...(process.env as Record<string, string>),
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    PORT: String(await freePort()),
    POWERTOOLS_LOG_LEVEL: "INFO",
  };
  const started = startEntryProcess("sh", [join(api(), "run.sh")], { env, cwd: tmpdir() });
  const url: string = JSON.parse(await started.line(/"message":"api listening"/)).url;
  const unwatch = watch(url);
  return {
    process: started,
    url,
    stop: async () => {
      unwatch();
      started.child.kill("SIGTERM");
      await started.exited;
    },
  };
}

/** The output files node loads when it imports `file`: its static imports, followed; `import()`s are not. */
async function loadedWith(file: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const code = await readFile(file, "utf8");
  for (const [, path] of code.matchAll(/\bimport\s*(?:[^"'()]*?\bfrom\s*)?"(\.{1,2}\/[^"]+\.mjs)"/g)) {
    await loadedWith(resolve(dirname(file), path!), seen);
  }
  return seen;
}

/** The repository's source modules in those files, from their source maps. */
async function sourcesOf(files: Set<string>): Promise<string[]> {
  const sources = new Set<string>();
  for (const file of files) {
    const map = JSON.parse(await readFile(`${file}.map`, "utf8")) as { sources: string[] };
    for (const source of map.sources) sources.add(relative(ROOT, resolve(dirname(file), source)));
  }
  return [...sources].sort();
}

describe("the built API bundle's route groups, loaded on first use", () => {
  test("starting up loads the HTTP core and the route table, none of the domains, the contract, zod or jose", async () => {
    // Act
    const loaded = await sourcesOf(await loadedWith(join(api(), "index.mjs")));

    // Assess
    for (const module of [
      "backend/main.ts",
      "backend/config.ts",
      "backend/api/app.ts",
      "backend/api/routes.ts",
      "backend/api/handlers/index.ts",
    ]) {
      assert.ok(loaded.includes(module), `${module} is loaded at start-up`);
    }
    const lazy =
      /^backend\/(compose\.ts|api\/contract\/|api\/identify\.ts|api\/handlers\/(auth|surveys|personas|social|chats|lifecycle)\.ts|(identity|surveys|personas|chats|social|lifecycle|data)\/)|node_modules\/(zod|jose|@aws-sdk|@google)\//;
    assert.deepEqual(
      loaded.filter((module) => lazy.test(module)),
      [],
    );
  });

  test("a fresh process answers its first requests to several groups at once, then later ones alike", async () => {
    // Prepare
    const server = await startApi();
    const owner = `lazy-${randomUUID()}`;
    try {
      // Act: the first requests of the process, three groups at once (two to one), and input the schemas refuse
      const [first, second, chats, refused] = await Promise.all([
        fetch(`${server.url}/v1/surveys`, { method: "POST", headers: as(owner) }),
        fetch(`${server.url}/v1/surveys`, { method: "POST", headers: as(owner) }),
        fetch(`${server.url}/v1/chats`, { headers: as(owner) }),
        fetch(`${server.url}/v1/me`, { method: "PUT", headers: as(owner), body: '{"name":""}' }),
      ]);
      const created = [(await bodyOf(first)).survey_id, (await bodyOf(second)).survey_id];
      const read = await fetch(`${server.url}/v1/surveys/${created[0]}`, { headers: as(owner) });

      // Assess
      // One open survey per owner, as ever: one request made it, the other was given it.
      assert.deepEqual([first.status, second.status].sort(), [200, 201]);
      assert.equal(created[0], created[1]);
      assert.equal(chats.status, 200);
      assert.deepEqual((await bodyOf(chats)).chats, []);
      assert.equal(refused.status, 400);
      assert.equal((await bodyOf(refused)).error.code, "validation_failed");
      assert.equal(read.status, 200);
      assert.equal((await bodyOf(read)).survey_id, created[0]);
      assert.deepEqual(
        server.process.lines.filter((line) => line.includes('"level":"ERROR"')),
        [],
      );
    } finally {
      await server.stop();
    }
  });

  test("a group that cannot be loaded is a JSON 500 at once; the others answer; a later request loads it", async () => {
    // Prepare: the surveys group's chunk missing from the deployment
    const chunks = join(api(), "chunks");
    const [chunk, ...others] = (await readdir(chunks)).filter((name) => /^surveys-\w+\.mjs$/.test(name));
    assert.ok(chunk !== undefined && others.length === 0, "one chunk holds the surveys handlers");
    await rename(join(chunks, chunk), join(chunks, `${chunk}.gone`));
    const server = await startApi();
    const owner = `lazy-${randomUUID()}`;
    try {
      // Act
      const failed = await fetch(`${server.url}/v1/surveys`, { method: "POST", headers: { ...as(owner), "x-request-id": "lazy-failure" } });
      const body = await bodyOf(failed);
      const [health, chats] = await Promise.all([fetch(`${server.url}/healthz`), fetch(`${server.url}/v1/chats`, { headers: as(owner) })]);
      await rename(join(chunks, `${chunk}.gone`), join(chunks, chunk));
      const retried = await fetch(`${server.url}/v1/surveys`, { method: "POST", headers: as(owner) });

      // Assess
      assert.equal(failed.status, 500);
      assert.equal(failed.headers.get("content-type"), "application/json; charset=utf-8");
      assert.deepEqual(body, { error: { code: "internal_error", message: "Internal server error", request_id: "lazy-failure" } });
      const logged = server.process.lines.find((line) => line.includes("The surveys routes could not be loaded"));
      assert.ok(logged, "the failure is logged with its cause");
      assert.equal(JSON.parse(logged).request_id, "lazy-failure");
      assert.equal(health.status, 200);
      assert.equal(chats.status, 200);
      assert.equal(retried.status, 201);
    } finally {
      await server.stop();
    }
  });
});
