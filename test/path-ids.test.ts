/**
 * Hostile path ids: every route with a path id, through every adapter, answers a malformed
 * id (far too long, `#` raw or encoded, NUL, non-ASCII, an encoded slash) exactly as it
 * answers an unknown one — 404 with the same code and message — and writes nothing. The
 * app runs on a table of its own, so "nothing" is checked by counting every item in it
 * (a Scan, in this test only).
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createProviders } from "../backend/ai/providers.ts";
import { createApi } from "../backend/api/index.ts";
import { loadConfig, type Config } from "../backend/config.ts";
import { InvalidKeyPartError, keys } from "../backend/data/keys.ts";
import { documentClient } from "../backend/data/documents.ts";
import { Table } from "../backend/data/table.ts";
import { provision } from "../backend/local/provision.ts";
import { friendAnswer, quiet } from "./support/saga.ts";
import { apiGatewayTarget, functionUrlTarget, nodeTarget, type Target } from "./support/targets.ts";
import { chatStore, type Chat } from "../backend/chats/store.ts";

const uid = `caller-${randomUUID()}`;
const signedIn = { "x-user-uid": uid, "content-type": "application/json" };
const selfAnswer = JSON.stringify({ answers: { adjectives: ["kind", "shy", "logical", "quiet", "tense"] } });

/** A well-formed id nobody issued, per kind, in the shape the domain makes them. */
const unknown = {
  survey: () => randomBytes(16).toString("base64url"),
  persona: () => randomBytes(12).toString("base64url"),
  chat: () => `${Date.now().toString(36).padStart(9, "0")}0000${randomBytes(6).toString("base64url")}`,
};

/** Raw (as sent on the wire) path segments that can name nothing. */
const HOSTILE: Array<[string, string]> = [
  ["3,000 characters", "a".repeat(3000)],
  ["an encoded #", "x%23y"],
  ["only an encoded #", "%23"],
  ["an encoded NUL", "abc%00def"],
  ["non-ASCII", "caf%C3%A9-%E2%9C%93"],
  ["an encoded slash", "a%2Fb"],
  ["a key-like value", "x%23META"],
];

/**
 * Every route with a path id. `path` puts `id` in the place under test; `fresh` makes a
 * well-formed id of the kind that goes there, which the table does not hold.
 */
type Probe = { route: string; path: (id: string) => string; fresh: () => string; method?: string; body?: string };
const probes = (chatId: string): Probe[] => [
  { route: "GET /v1/surveys/:id", path: (id) => `/v1/surveys/${id}`, fresh: unknown.survey },
  {
    route: "POST /v1/surveys/:id/responses",
    path: (id) => `/v1/surveys/${id}/responses`,
    fresh: unknown.survey,
    method: "POST",
    body: JSON.stringify(friendAnswer("fp-hostile-1")),
  },
  {
    route: "POST /v1/surveys/:id/responses/withdraw",
    path: (id) => `/v1/surveys/${id}/responses/withdraw`,
    fresh: unknown.survey,
    method: "POST",
    body: JSON.stringify({ receipt: `${"a".repeat(43)}.${"b".repeat(43)}` }),
  },
  { route: "PUT /v1/surveys/:id/self", path: (id) => `/v1/surveys/${id}/self`, fresh: unknown.survey, method: "PUT", body: selfAnswer },
  { route: "GET /v1/surveys/:id/summary", path: (id) => `/v1/surveys/${id}/summary`, fresh: unknown.survey },
  { route: "POST /v1/surveys/:id/close", path: (id) => `/v1/surveys/${id}/close`, fresh: unknown.survey, method: "POST" },
  { route: "POST /v1/surveys/:id/reopen", path: (id) => `/v1/surveys/${id}/reopen`, fresh: unknown.survey, method: "POST" },
  { route: "DELETE /v1/surveys/:id", path: (id) => `/v1/surveys/${id}`, fresh: unknown.survey, method: "DELETE" },
  { route: "GET /v1/personas/:id/card", path: (id) => `/v1/personas/${id}/card`, fresh: unknown.persona },
  {
    route: "GET /v1/personas/:id/card?format=chara_card_v3",
    path: (id) => `/v1/personas/${id}/card?format=chara_card_v3`,
    fresh: unknown.persona,
  },
  {
    route: "GET /v1/personas/:a/chemistry/:b (a)",
    path: (id) => `/v1/personas/${id}/chemistry/${unknown.persona()}`,
    fresh: unknown.persona,
  },
  {
    route: "GET /v1/personas/:a/chemistry/:b (b)",
    path: (id) => `/v1/personas/${unknown.persona()}/chemistry/${id}`,
    fresh: unknown.persona,
  },
  { route: "GET /v1/chats/:id/messages", path: (id) => `/v1/chats/${id}/messages`, fresh: unknown.chat },
  {
    route: "POST /v1/chats/:id/messages",
    path: (id) => `/v1/chats/${id}/messages`,
    fresh: unknown.chat,
    method: "POST",
    body: JSON.stringify({ text: "hello" }),
  },
  {
    route: "POST /v1/chats/:id/messages/:mid/stop (id)",
    path: (id) => `/v1/chats/${id}/messages/${unknown.chat()}/stop`,
    fresh: unknown.chat,
    method: "POST",
  },
  // The caller's own chat, so the message id is what decides.
  {
    route: "POST /v1/chats/:id/messages/:mid/stop (mid)",
    path: (id) => `/v1/chats/${chatId}/messages/${id}/stop`,
    fresh: unknown.chat,
    method: "POST",
  },
];

let config: Config;
let targets: Target[];

async function itemCount(): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new ScanCommand({ TableName: config.tableName, Select: "COUNT", ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

before(async () => {
  const name = `ids-${randomUUID().slice(0, 8)}`;
  const queues = await provision({
    tableName: `remirai-${name}`,
    synthesisQueue: `${name}-synthesis`,
    imageQueue: `${name}-image`,
    mediaBucket: process.env.MEDIA_BUCKET!,
  });
  const env = {
    ...process.env,
    AUTH_MODE: "local",
    TABLE_NAME: `remirai-${name}`,
    SYNTHESIS_QUEUE_URL: queues.synthesisQueueUrl,
    IMAGE_QUEUE_URL: queues.imageQueueUrl,
    LIFECYCLE_QUEUE_URL: queues.lifecycleQueueUrl,
    GEMINI_API_KEY: "",
  };
  config = loadConfig(env);
  const app = createApi(config, { logger: quiet, ports: createProviders(env, quiet) });
  targets = [await nodeTarget(app), functionUrlTarget(app), apiGatewayTarget(app, "1.0"), apiGatewayTarget(app, "2.0")];
});
after(async () => {
  for (const target of targets) await target.close();
});

describe("malformed path ids are unknown ids", () => {
  test("every route, every adapter: 404 with the unknown id's code and message; nothing written", async () => {
    // Prepare
    const chat = (await chatStore(new Table(config.tableName)).create(uid, { personaId: unknown.persona(), uid, name: "Mirai" })) as Chat;
    const before = await itemCount();

    for (const target of targets) {
      for (const probe of probes(chat.chatId)) {
        const send = (id: string) => target.request(probe.path(id), { method: probe.method ?? "GET", headers: signedIn, body: probe.body });
        const baseline = await send(probe.fresh());
        const expected = JSON.parse(baseline.body).error;
        assert.equal(baseline.status, 404, `${target.name} ${probe.route} with an unknown id: ${baseline.body}`);

        for (const [label, id] of HOSTILE) {
          // Act
          const res = await send(id);

          // Assess
          const where = `${target.name} ${probe.route} with ${label}`;
          assert.equal(res.status, 404, `${where}: ${res.body}`);
          assert.match(String(res.headers["content-type"]), /^application\/json/, where);
          const { error } = JSON.parse(res.body);
          if (target.decodesPath && label === "an encoded slash") {
            // An HTTP API decoded %2F before the event: it is another path, which no route has.
            assert.equal(error.code, "not_found", where);
            continue;
          }
          assert.deepEqual({ code: error.code, message: error.message }, { code: expected.code, message: expected.message }, where);
        }
      }
    }
    assert.equal(await itemCount(), before, "no request wrote an item");
  });

  test("an answer to a well-formed survey id that does not exist writes nothing", async () => {
    // Prepare
    const before = await itemCount();

    // Act
    const res = await targets[0]!.request(`/v1/surveys/${unknown.survey()}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(friendAnswer("fp-ghost-000001")),
    });

    // Assess
    assert.equal(res.status, 404);
    assert.equal(await itemCount(), before);
  });
});

describe("keys", () => {
  test("refuse a part that could reach into another key, or is empty, too long or has control characters", () => {
    for (const bad of ["x#y", "#", "", "a".repeat(401), "a\u0000b", "line\nbreak"]) {
      assert.throws(() => keys.survey(bad), InvalidKeyPartError, JSON.stringify(bad.slice(0, 20)));
      assert.throws(() => keys.rateWindow({ survey: bad }, "answer-survey", 0), InvalidKeyPartError);
    }
    assert.deepEqual(keys.chat("g_42", unknown.chat()).PK, "USER#g_42");
  });
});
