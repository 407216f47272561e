/**
 * The API as AWS runs it (test/support/deployed-stack.ts): the bundle started by run.sh with
 * exactly ApiFunction's template environment, its secrets only in the Secrets Manager secret.
 * Signing in, being recognised, a friend's answer, the saga through the worker bundles and a
 * chat all depend on the secret being loaded before the app is built. Also backend/lambda.ts,
 * the API's native Lambda entry, and a start that must fail.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { importPKCS8, importSPKI, jwtVerify } from "jose";
import { emfProblems } from "./support/emf.ts";
import { invokeHandler, type EntryProcess } from "./support/entry-process.ts";
import {
  CHAT_REPLY,
  INCOMPLETE_ARN,
  SECRET_ARN,
  UNKNOWN_ARN,
  secretFailureLine,
  secretValues,
  startDeployedStack,
  type DeployedStack,
} from "./support/deployed-stack.ts";
import { signed } from "./support/identity.ts";
import { sqsEvent } from "./support/lambda-events.ts";
import { watch } from "./support/contract-watch.ts";
import { friendAnswer } from "./support/saga.ts";
import { ROOT, type Json } from "./support/sam-template.ts";
import { Table } from "../backend/data/table.ts";
import { userStore } from "../backend/identity/store.ts";

let deployed: DeployedStack;
before(async () => (deployed = await startDeployedStack()));
after(() => deployed?.close());

const json = { "content-type": "application/json" };
/** What the edge function adds to every request: the viewer's address as CloudFront saw it. */
const viewer = { "x-viewer-ip": "198.51.100.7" };
/** What the edge forwards for a signed-in viewer: our token, and the identity it verified. */
const viaEdge = (user: { token: string; uid: string; email: string }) => ({
  "x-remirai-token": user.token,
  "x-user-uid": user.uid,
  "x-user-email": user.email,
  ...viewer,
});
const bodyOf = (res: Response): Promise<Json> => res.json();

describe("the API bundle, started by run.sh with ApiFunction's template environment", () => {
  let api: EntryProcess;
  let url: string;
  const signIn = async () => {
    const idToken = await deployed.google.idToken({ sub: `g-${randomUUID()}` });
    const res = await fetch(`${url}/api/v1/auth/google`, {
      method: "POST",
      headers: { ...json, ...viewer },
      body: JSON.stringify({ id_token: idToken }),
    });
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    return { token: body.token as string, uid: body.user.user_id as string, email: body.user.email as string };
  };
  const openSurvey = async (owner: { token: string; uid: string; email: string }) =>
    (await bodyOf(await fetch(`${url}/api/v1/surveys`, { method: "POST", headers: viaEdge(owner) }))).survey_id as string;
  const answer = (surveyId: string, fingerprint: string) =>
    fetch(`${url}/api/v1/surveys/${surveyId}/responses`, {
      method: "POST",
      headers: { ...json, ...viewer },
      body: JSON.stringify(friendAnswer(fingerprint)),
    });

  let unwatch: () => void;
  before(async () => {
    api = await deployed.startApi();
    url = JSON.parse(await api.line(/"message":"api listening"/)).url;
    // The bundle is the production API: every response it gives here is checked against the contract.
    unwatch = watch(url);
  });
  after(async () => {
    unwatch();
    api.child.kill("SIGTERM");
    assert.equal(await api.exited, 0, "a graceful shutdown");
  });

  test("read the app secret from Secrets Manager once, at start-up, and chose Gemini", async () => {
    // Assess
    assert.equal(deployed.asksFor(SECRET_ARN), 1);
    assert.deepEqual(deployed.secrets.requests[0], {
      target: "secretsmanager.GetSecretValue",
      contentType: "application/x-amz-json-1.1",
      signedFor: "secretsmanager",
      secretId: SECRET_ARN,
      status: 200,
    });
    const providers = JSON.parse(await api.line(/"message":"AI providers/));
    assert.equal(providers.message, "AI providers: Gemini");
    assert.equal(providers.endpoint, deployed.gemini.url);
  });

  test("signs a Google user in with the secret's private key, and knows them by that token as the edge forwards it", async () => {
    // Act
    const user = await signIn();
    const me = await fetch(`${url}/api/v1/me`, { headers: viaEdge(user) });

    // Assess
    const { payload } = await jwtVerify(user.token, await importSPKI(deployed.secret.JWT_PUBLIC_KEY, "ES256"));
    assert.equal(payload.sub, user.uid, "signed with the secret's key pair");
    assert.equal(me.status, 200);
    assert.deepEqual(await bodyOf(me).then(({ user_id, email }) => ({ user_id, email })), { user_id: user.uid, email: user.email });
  });

  test("accepts a friend's answer once, refusing the same fingerprint again", async () => {
    // Prepare
    const surveyId = await openSurvey(await signIn());

    // Act
    const first = await answer(surveyId, "friend-device-1");
    const again = await answer(surveyId, "friend-device-1");

    // Assess
    assert.equal(first.status, 201, await first.clone().text());
    assert.equal(again.status, 409);
  });

  test("the saga runs through the worker bundles, and every function calls Gemini with the secret's key", async () => {
    // Prepare: an owner with three answers starts the saga
    const owner = await signIn();
    const surveyId = await openSurvey(owner);
    for (const friend of ["a", "b", "c"]) assert.equal((await answer(surveyId, `friend-${friend}`)).status, 201);
    assert.equal((await fetch(`${url}/api/v1/personas/me`, { method: "POST", headers: viaEdge(owner) })).status, 202);

    // Act: each step's message handed to its worker bundle, then a chat through the API
    const synthesis = await deployed.invokeWorker("SynthesisFunction", "synthesis", await sqsEvent(deployed.queues.synthesis));
    const image = await deployed.invokeWorker("ImageFunction", "image", await sqsEvent(deployed.queues.image));
    const view = await bodyOf(await fetch(`${url}/api/v1/personas/me`, { headers: viaEdge(owner) }));
    const chat = await fetch(`${url}/api/v1/personas/me/chat`, {
      method: "POST",
      headers: { ...json, ...viaEdge(owner) },
      body: JSON.stringify({ text: "Hi!" }),
    });

    // Assess
    for (const worker of [synthesis, image]) {
      assert.equal(worker.code, 0, worker.lines.join("\n"));
      assert.deepEqual(worker.result, { batchItemFailures: [] });
    }
    // Each bundle's metrics go to the stack's namespace under its function's service: what the alarms read.
    for (const [worker, service] of [
      [synthesis, "remirai-synthesis"],
      [image, "remirai-image"],
    ] as const) {
      const emf = worker.lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
      for (const doc of emf) assert.deepEqual(emfProblems(doc, "Remirai/remirai-test"), []);
      assert.ok(
        emf.some((doc) => doc.service === service && doc.SagaStepDuration > 0),
        `${service}: ${worker.lines.join("\n")}`,
      );
    }
    assert.equal(view.status, "ready", JSON.stringify(view));
    assert.equal(chat.status, 200);
    assert.equal((await bodyOf(chat)).reply.text, CHAT_REPLY);
    // The fake refuses any other key, so each kind of call arriving means its function held the secret's.
    const calls = deployed.gemini.requests.map(
      (r) => `${r.method} ${r.model.includes("image") ? "image" : "text"} ${r.apiKey === deployed.secret.GEMINI_API_KEY}`,
    );
    assert.deepEqual([...new Set(calls)].sort(), [
      "generateContent image true",
      "generateContent text true",
      "streamGenerateContent text true",
    ]);
  });
});

describe("a start of the API bundle that must fail", () => {
  /** How it ended: its exit code, or "listening" if it served after all. */
  const outcome = (api: EntryProcess) =>
    Promise.race([
      api.exited,
      api.line(/"message":"api listening"/).then(
        () => "listening" as const,
        () => new Promise<never>(() => {}),
      ),
    ]);

  test("a secret that does not exist: exits with one clear line and never serves", async () => {
    // Act
    const api = await deployed.startApi({ AppSecretArn: UNKNOWN_ARN });
    const code = await outcome(api);

    // Assess
    assert.ok(code !== "listening" && code !== 0, `it must neither serve nor exit 0 (${code})`);
    assert.ok(deployed.asksFor(UNKNOWN_ARN) > 0, "it asked Secrets Manager");
    const line = secretFailureLine(api.lines);
    assert.equal(line?.level, "ERROR");
    assert.equal(line?.secret_arn, UNKNOWN_ARN);
    assert.equal(line?.error, "ResourceNotFoundException");
  });

  test("a secret without a required key: exits naming the key, and no value", async () => {
    // Act
    const api = await deployed.startApi({ AppSecretArn: INCOMPLETE_ARN });
    const code = await outcome(api);

    // Assess
    assert.ok(code !== "listening" && code !== 0, `it must neither serve nor exit 0 (${code})`);
    assert.match(secretFailureLine(api.lines)?.reason ?? "", /lacks or has malformed keys: FINGERPRINT_SECRET$/);
  });
});

describe("backend/lambda.ts (the API's native Lambda entry) with ApiFunction's template environment", () => {
  const meEvent = (headers: Record<string, string>) => ({
    version: "2.0",
    rawPath: "/v1/me",
    rawQueryString: "",
    headers,
    isBase64Encoded: false,
    requestContext: { http: { method: "GET", sourceIp: "198.51.100.1" }, requestId: "r" },
  });
  const invoke = (event: unknown, parameters: Record<string, string> = {}) =>
    invokeHandler(join(ROOT, "backend", "lambda.ts"), event, {
      env: deployed.envOf("ApiFunction", parameters),
      cwd: ROOT,
      tsx: true,
      exportName: "apiGatewayHandler",
    });

  test("loads the secret before serving: a token signed with the secret's key is accepted", async () => {
    // Prepare: a signed-in user (their record, and a token of the secret's key pair)
    const uid = `g_${randomUUID()}`;
    await userStore(new Table(deployed.tableName)).signedIn({ uid, email: "l@example.com", name: "Lambda Tester" });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: uid,
      email: "l@example.com",
      iss: "https://remirai.app",
      aud: "remirai-api",
      iat: now,
      exp: now + 600,
      jti: randomUUID(),
    };
    const token = await signed(claims, "ES256", await importPKCS8(deployed.secret.JWT_PRIVATE_KEY, "ES256"));

    // Act
    const invocation = await invoke(meEvent({ "x-remirai-token": token, "x-user-uid": uid, "x-user-email": "l@example.com" }));
    deployed.printed.push(...invocation.lines);

    // Assess
    assert.equal(invocation.code, 0, invocation.lines.join("\n"));
    const response = invocation.result as { statusCode: number; body: string };
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(JSON.parse(response.body).user_id, uid);
  });

  test("fails its init when the secret does not exist", async () => {
    // Act
    const invocation = await invoke(meEvent({}), { AppSecretArn: UNKNOWN_ARN });

    // Assess
    assert.notEqual(invocation.code, 0);
    assert.equal(invocation.result, undefined, "the handler was never called");
    assert.equal(secretFailureLine(invocation.lines)?.error, "ResourceNotFoundException");
  });
});

test("no process printed a secret value", () => {
  assert.ok(deployed.printed.length > 0);
  for (const value of secretValues(deployed.secret))
    assert.ok(!deployed.printed.some((l) => l.includes(value)), "a secret value was printed");
});
