/**
 * `./run.sh` end to end: real DynamoDB Local, real fauxqs, the real API, real signals.
 * Each test starts its own stack on free ports with its own DATA_DIR, so nothing here
 * touches the services the rest of the test run shares.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { pollUntil, processExists, startRunSh, type RunningRunSh } from "./support/run-sh.ts";
import { friendAnswer } from "./support/saga.ts";
import { committedToDisk } from "./support/stack.ts";

const timeout = 300_000;

test("run.sh serves health and the web client on one origin, and Ctrl-C leaves no process behind", { timeout }, async (t) => {
  // Prepare
  const dataDir = await freshDataDir(t);
  const startedAt = Date.now();
  const stack = await startRunSh({ dataDir });
  t.diagnostic(`./run.sh to /readyz 200 (fresh DATA_DIR): ${Date.now() - startedAt} ms`);
  cleanUp(t, stack);

  // Act
  const health = await fetch(`${stack.apiUrl}/healthz`);
  const prefixedHealth = await fetch(`${stack.apiUrl}/api/healthz`);
  // The web client, built by run.sh itself: a client route gets the shell, which loads its bundle.
  const shell = await fetch(`${stack.apiUrl}/s/some-survey`);
  const html = await shell.text();
  const bundle = await fetch(`${stack.apiUrl}${/src="(\/assets\/app-\w+\.js)"/.exec(html)?.[1]}`);
  const exit = await stack.stop("SIGINT");

  // Assess
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });
  assert.equal(prefixedHealth.status, 200);
  assert.deepEqual(await prefixedHealth.json(), { status: "ok" });
  assert.equal(shell.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(shell.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  assert.equal(bundle.status, 200);
  assert.equal(bundle.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.equal(processExists(stack.fauxqsPid), false, "fauxqs child is gone");
  assert.equal(processExists(stack.dynamodbPid), false, "DynamoDB Local is gone");
});

test("a DynamoDB Local or fauxqs that dies under run.sh is restarted on the same data, and the API recovers without a restart", {
  timeout,
}, async (t) => {
  // Prepare
  const dataDir = await freshDataDir(t);
  const stack = await startRunSh({ dataDir });
  cleanUp(t, stack);
  const { survey_id } = (await (await post(stack.apiUrl, "/v1/surveys", "keeper")).json()) as { survey_id: string };
  await committedToDisk(join(dataDir, "dynamodb"), survey_id);

  // Act: DynamoDB Local dies under the running API.
  process.kill(stack.dynamodbPid, "SIGKILL");
  const down = await readyzWhen(stack, 503);

  // Assess: not ready, saying when to come back; alive all the while.
  assert.ok(down.headers.get("retry-after"), "503 from /readyz carries Retry-After");
  assert.equal((await fetch(`${stack.apiUrl}/healthz`)).status, 200);

  // Act: run.sh starts it again by itself.
  const exited = await stack.nextLog("dynamodb local exited unexpectedly; restarting it", AbortSignal.timeout(60_000));
  const restarted = await stack.nextLog("dynamodb local restarted", AbortSignal.timeout(120_000));
  killOnCleanUp(t, Number(restarted.pid));
  await readyzWhen(stack, 200);
  const survey = await servedWhenWarm(`${stack.apiUrl}/v1/surveys/${survey_id}`);

  // Assess: the same data, the same endpoint, a new process.
  assert.equal(exited.pid, stack.dynamodbPid);
  assert.equal(restarted.endpoint, stack.dynamodbEndpoint);
  assert.notEqual(restarted.pid, stack.dynamodbPid);
  assert.equal(survey.status, 200);
  assert.equal(((await survey.json()) as { survey_id: string }).survey_id, survey_id);

  // Act: fauxqs dies; its queues lived in memory.
  process.kill(stack.fauxqsPid, "SIGKILL");
  await readyzWhen(stack, 503);
  const fauxqs = await stack.nextLog("fauxqs restarted", AbortSignal.timeout(60_000));
  killOnCleanUp(t, Number(fauxqs.pid));
  await readyzWhen(stack, 200);
  const owner = await ownerWithAnswers(stack.apiUrl, "after-fauxqs");
  const started = await post(stack.apiUrl, "/v1/personas/me", owner);
  const persona = await personaWhen(stack.apiUrl, owner, "ready");

  // Assess: the queues exist again and carry a saga to its end.
  assert.equal(started.status, 202);
  assert.equal((await ownPortrait(stack.apiUrl, owner, persona)).status, 200);

  // Act: Ctrl-C.
  const exit = await stack.stop("SIGINT");

  // Assess: the restarted children went with it.
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.equal(processExists(Number(restarted.pid)), false, "the restarted DynamoDB Local is gone");
  assert.equal(processExists(Number(fauxqs.pid)), false, "the restarted fauxqs is gone");
});

test("run.sh keeps DynamoDB tables across a restart with the same DATA_DIR", { timeout }, async (t) => {
  // Prepare
  const dataDir = await freshDataDir(t);
  const first = await startRunSh({ dataDir });
  cleanUp(t, first);
  const item = {
    PK: { S: "PERSONA#restart-test" },
    SK: { S: "PROFILE" },
    name: { S: "Mirai" },
  };
  await withDynamo(first, (dynamo) => dynamo.send(new PutItemCommand({ TableName: "remirai", Item: item })));
  assert.deepEqual(await first.stop("SIGINT"), { code: 0, signal: null });

  // Act
  const startedAt = Date.now();
  const second = await startRunSh({ dataDir });
  t.diagnostic(`./run.sh to /readyz 200 (warm DATA_DIR): ${Date.now() - startedAt} ms`);
  cleanUp(t, second);
  const found = await withDynamo(second, (dynamo) =>
    dynamo.send(new GetItemCommand({ TableName: "remirai", Key: { PK: item.PK, SK: item.SK } })),
  );

  // Assess
  assert.ok(existsSync(join(dataDir, "dynamodb")), "tables live under $DATA_DIR/dynamodb");
  assert.deepEqual(found.Item, item);
  assert.deepEqual(await second.stop("SIGINT"), { code: 0, signal: null });
});

test("after a restart, ready portraits are still served and a saga whose message was lost is finished", { timeout }, async (t) => {
  // Prepare: one persona made ready; a second saga started with the workers off, so its
  // message sits in fauxqs's in-memory queue and is lost when the stack stops.
  const dataDir = await freshDataDir(t);
  const first = await startRunSh({ dataDir });
  cleanUp(t, first);
  const alice = await ownerWithAnswers(first.apiUrl, "alice");
  assert.equal((await post(first.apiUrl, "/v1/personas/me", alice)).status, 202);
  const aliceReady = await personaWhen(first.apiUrl, alice, "ready");
  assert.equal((await ownPortrait(first.apiUrl, alice, aliceReady)).status, 200);
  await first.stop("SIGINT");

  const idle = await startRunSh({ dataDir, env: { LOCAL_WORKERS: "0", SAGA_STEP_TIMEOUT_MS: "1" } });
  cleanUp(t, idle);
  const bob = await ownerWithAnswers(idle.apiUrl, "bob");
  assert.equal((await post(idle.apiUrl, "/v1/personas/me", bob)).status, 202);
  await idle.stop("SIGINT");

  // Act
  const restarted = await startRunSh({ dataDir, env: { SWEEP_INTERVAL_MS: "200" } });
  cleanUp(t, restarted);
  const aliceAgain = await personaWhen(restarted.apiUrl, alice, "ready");
  const bobReady = await personaWhen(restarted.apiUrl, bob, "ready");

  // Assess
  const portrait = await ownPortrait(restarted.apiUrl, alice, aliceAgain);
  assert.equal(portrait.status, 200);
  assert.match(await portrait.text(), /^<svg /);
  assert.equal(bobReady.status, "ready");
  assert.equal((await ownPortrait(restarted.apiUrl, bob, bobReady)).status, 200);
});

/** Polls /readyz until it answers `status`; the last response. */
async function readyzWhen(stack: RunningRunSh, status: number): Promise<Response> {
  let readiness: Response | undefined;
  await pollUntil(async () => {
    readiness = await fetch(`${stack.apiUrl}/readyz`);
    await readiness.arrayBuffer();
    return readiness.status === status;
  }, AbortSignal.timeout(120_000));
  return readiness!;
}

/**
 * A GET as a client honouring Retry-After makes it: a just-restarted DynamoDB Local on a loaded
 * machine can be slower than the request timeout for its first reads, and the API says 503.
 * Any other answer is final (a lost survey is a 404 at once).
 */
async function servedWhenWarm(url: string): Promise<Response> {
  let res: Response | undefined;
  await pollUntil(async () => {
    res = await fetch(url);
    if (res.status !== 503) return true;
    await res.arrayBuffer();
    return false;
  }, AbortSignal.timeout(60_000));
  return res!;
}

function killOnCleanUp(t: TestContext, pid: number): void {
  t.after(() => {
    if (processExists(pid)) process.kill(pid, "SIGKILL");
  });
}

/** A private persona's portrait, served by the API to its owner only (PUBLIC_BASE_URL is not this stack's). */
function ownPortrait(apiUrl: string, uid: string, view: { illustration_url: string }): Promise<Response> {
  return fetch(`${apiUrl}${new URL(view.illustration_url).pathname}`, { headers: { "x-user-uid": uid } });
}

function post(apiUrl: string, path: string, uid: string, body?: unknown): Promise<Response> {
  return fetch(`${apiUrl}${path}`, {
    method: "POST",
    headers: { "x-user-uid": uid, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function ownerWithAnswers(apiUrl: string, uid: string): Promise<string> {
  const { survey_id } = (await (await post(apiUrl, "/v1/surveys", uid)).json()) as { survey_id: string };
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${apiUrl}/v1/surveys/${survey_id}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(friendAnswer(`${uid}-friend-${i}`)),
    });
    assert.equal(res.status, 201);
  }
  return uid;
}

async function personaWhen(apiUrl: string, uid: string, status: string): Promise<{ status: string; illustration_url: string }> {
  let view: { status: string; illustration_url: string } | undefined;
  await pollUntil(async () => {
    view = (await (await fetch(`${apiUrl}/v1/personas/me`, { headers: { "x-user-uid": uid } })).json()) as typeof view;
    return view?.status === status;
  }, AbortSignal.timeout(60_000));
  return view!;
}

async function freshDataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "remirai-run-sh-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Whatever an assertion left running is stopped, children included. */
function cleanUp(t: TestContext, stack: RunningRunSh): void {
  t.after(async () => {
    await stack.stop("SIGINT");
    for (const pid of [stack.dynamodbPid, stack.fauxqsPid]) {
      if (processExists(pid)) process.kill(pid, "SIGKILL");
    }
  });
}

async function withDynamo<T>(stack: RunningRunSh, use: (dynamo: DynamoDBClient) => Promise<T>): Promise<T> {
  const dynamo = new DynamoDBClient({
    endpoint: stack.dynamodbEndpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    return await use(dynamo);
  } finally {
    dynamo.destroy();
  }
}
