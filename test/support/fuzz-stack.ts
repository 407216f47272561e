/**
 * The production app for fuzzing, on a private table and queues of the shared local services
 * (so no other test's data is touched), with a world of real ids to aim at: an owner with a
 * survey, a ready public persona, a chat with a message. And the property every generated
 * request must hold, whatever it was.
 */
import assert from "node:assert/strict";
import type { Route } from "../../backend/api/framework.ts";
import { handlersFor } from "../../backend/api/handlers/index.ts";
import { routes } from "../../backend/api/routes.ts";
import type { FuzzRequest, FuzzWorld } from "./fuzz-requests.ts";
import { startGoogleIssuer, TEST_CLIENT_ID } from "./google-issuer.ts";
import { as, ownerWithReadyPersona, sagaStack, type SagaStack } from "./saga.ts";
import type { Received, Target } from "./targets.ts";

export interface FuzzStack {
  stack: SagaStack;
  routes: Route[];
  world: FuzzWorld;
  close(): Promise<void>;
}

export async function fuzzStack(): Promise<FuzzStack> {
  // Sign-in is configured, against a local stand-in for Google: a 503 there would be ours.
  const google = await startGoogleIssuer();
  const stack = await sagaStack({
    GOOGLE_CLIENT_ID: TEST_CLIENT_ID,
    GOOGLE_ISSUERS: google.issuer,
    GOOGLE_JWKS_URL: google.jwksUrl,
    // Limits high enough that the fuzzer explores the routes, not the rate limiter.
    ANSWERS_PER_IP_PER_HOUR: "100000",
    ANSWERS_PER_SURVEY_PER_MINUTE: "100000",
    CHAT_MESSAGES_PER_MINUTE: "100000",
    // A status feed following a saga nobody works on ends at its maximum life: keep it short.
    SSE_MAX_LIFE_MS: "300",
  });
  const { uid, personaId } = await ownerWithReadyPersona(stack.target);
  await stack.target.request("/v1/personas/me/visibility", { method: "PUT", headers: as(uid), body: '{"public":true}' });
  const survey = JSON.parse((await stack.target.request("/v1/surveys", { method: "POST", headers: as(uid) })).body);
  const chat = JSON.parse((await stack.target.request("/v1/chats", { method: "POST", headers: as(uid), body: "{}" })).body);
  const chatId: string = chat.chat_id ?? chat.id;
  await stack.target.request(`/v1/chats/${chatId}/messages`, { method: "POST", headers: as(uid), body: '{"text":"hello"}' });
  const history = JSON.parse((await stack.target.request(`/v1/chats/${chatId}/messages`, { headers: as(uid) })).body);
  const first = history.messages[0];
  // The workers are not needed any more: sagas the fuzzer starts stay queued, which is fine.
  await stack.workers?.stop();
  return {
    stack,
    routes: routes(handlersFor(stack.domains.config, async () => stack.domains)),
    world: { owner: uid, surveyId: survey.survey_id, personaId, chatId, messageId: first.message_id ?? first.id },
    close: async () => {
      await stack.close();
      await google.close();
    },
  };
}

/** What a client of the API may rely on whatever it sent: no 5xx, JSON errors with the request id. */
export function assertSound(request: FuzzRequest, res: Received): void {
  const what = `${request.method} ${request.path}`;
  assert.ok(res.status < 500, `${what} → ${res.status} ${res.body.slice(0, 300)}`);
  if (res.status < 400 || request.method === "HEAD") return;
  let body: { error?: { code?: unknown; message?: unknown; request_id?: unknown } };
  try {
    body = JSON.parse(res.body);
  } catch {
    assert.fail(`${what} → ${res.status} with a body that is not JSON: ${JSON.stringify(res.body.slice(0, 200))}`);
  }
  assert.equal(typeof body.error?.code, "string", `${what}: error.code`);
  assert.equal(typeof body.error?.message, "string", `${what}: error.message`);
  assert.equal(body.error?.request_id, res.headers["x-request-id"], `${what}: error.request_id is the response's request id`);
}

/**
 * A write that was accepted is there afterwards, read back through the API. Only for the
 * routes whose effect a read can show; the others hold the general property only.
 */
export async function assertVisible(target: Target, request: FuzzRequest, res: Received, world: FuzzWorld): Promise<void> {
  if (res.status < 200 || res.status >= 300 || request.route === undefined) return;
  const headers = { "x-user-uid": request.headers["x-user-uid"] ?? "" };
  const json = () => JSON.parse(res.body);
  switch (`${request.method} ${request.route}`) {
    case "POST /v1/surveys": {
      const read = await target.request(`/v1/surveys/${json().survey_id}`);
      assert.equal(read.status, 200, "a survey created is readable");
      break;
    }
    case "PUT /v1/me": {
      const read = await target.request("/v1/me", { headers });
      assert.equal(JSON.parse(read.body).name, json().name, "the new display name is the profile's");
      break;
    }
    case "POST /v1/chats": {
      const created = json();
      const read = await target.request(`/v1/chats/${created.chat_id ?? created.id}/messages`, { headers });
      assert.equal(read.status, 200, "a chat created is readable by its creator");
      break;
    }
    default:
      if (/^POST \/v1\/surveys\/[^/]+\/responses$/.test(`${request.method} ${request.route}`) && request.body !== undefined) {
        // The same device again is refused: the first answer is stored.
        const again = await target.request(request.path, { method: "POST", headers: request.headers, body: request.body });
        assert.ok(again.status === 409 || again.status === 429, `a repeated answer is refused as a duplicate (got ${again.status})`);
      }
  }
  void world;
}

/** A failing case as a replayable file: the world's ids become placeholders. */
export interface Regression {
  adapter: string;
  seed: number;
  failure: string;
  request: { method: string; path: string; headers: Record<string, string>; body?: string; bodyBase64?: string; route?: string };
}

const PLACEHOLDERS = ["owner", "surveyId", "personaId", "chatId", "messageId"] as const;

function withPlaceholders(text: string, world: FuzzWorld): string {
  let out = text;
  for (const name of PLACEHOLDERS) out = out.split(world[name]).join(`{{${name}}}`);
  return out;
}

export function toRegression(adapter: string, seed: number, request: FuzzRequest, failure: string, world: FuzzWorld): Regression {
  const body =
    request.body === undefined
      ? {}
      : Buffer.isBuffer(request.body)
        ? { bodyBase64: request.body.toString("base64") }
        : { body: withPlaceholders(request.body, world) };
  return {
    adapter,
    seed,
    failure: failure.slice(0, 2_000),
    request: {
      method: request.method,
      path: withPlaceholders(request.path, world),
      headers: JSON.parse(withPlaceholders(JSON.stringify(request.headers), world)),
      ...body,
      ...(request.route === undefined ? {} : { route: request.route }),
    },
  };
}

/** The request a regression file describes, in this world. */
export function fromRegression(regression: Regression, world: FuzzWorld): FuzzRequest {
  const fill = (text: string) => PLACEHOLDERS.reduce((out, name) => out.split(`{{${name}}}`).join(world[name]), text);
  const { request } = regression;
  const body =
    request.bodyBase64 !== undefined
      ? Buffer.from(request.bodyBase64, "base64")
      : request.body === undefined
        ? undefined
        : fill(request.body);
  return {
    method: request.method,
    path: fill(request.path),
    headers: JSON.parse(fill(JSON.stringify(request.headers))),
    ...(body === undefined ? {} : { body }),
    ...(request.route === undefined ? {} : { route: request.route }),
  };
}
