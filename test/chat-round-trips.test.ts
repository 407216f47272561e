/**
 * What a chat turn waits for before its model is asked (issue 18, target 3), seen from both
 * ends in this process: a trace on the process's DynamoDB client (fixtures/dynamo-trace.ts)
 * and the fake Gemini server's arrival of the model request. And that running the
 * deleted-account check beside the chat's first reads lets a deleted account write nothing.
 * The reply's own stop-flag reads (a timer from the model's start) are set far off here, so
 * only what the turn's beginning sends is counted.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createApi } from "../backend/api/index.ts";
import { newTurn } from "../backend/chats/begin-store.ts";
import { chatStore } from "../backend/chats/store.ts";
import { accountPseudonym } from "../backend/data/pseudonym.ts";
import { Table } from "../backend/data/table.ts";
import { lifecycleStore } from "../backend/lifecycle/store.ts";
import { dynamoClient } from "../backend/ports/aws.ts";
import { roundTripsBefore, traceDynamo, type DynamoTrace } from "../fixtures/dynamo-trace.ts";
import { chatStack, type ChatStack } from "./support/chat-stack.ts";
import { scanAll } from "./support/lifecycle.ts";
import { as, ownerWithReadyPersona, quiet, streamingAs } from "./support/saga.ts";
import { nodeTarget } from "./support/targets.ts";

let chat: ChatStack;
let trace: DynamoTrace;

before(async () => {
  chat = await chatStack({ CHAT_STOP_POLL_MS: "600000" });
  trace = traceDynamo(dynamoClient());
});
after(() => chat?.close());

async function newChat(uid = chat.owner.uid): Promise<string> {
  const res = await chat.stack.target.request("/v1/chats", { method: "POST", headers: as(uid), body: "{}" });
  assert.equal(res.status, 201, res.body);
  return JSON.parse(res.body).chat_id;
}

const send = (chatId: string, headers: Record<string, string>, text = "What do you do on weekends?") =>
  chat.stack.target.request(`/v1/chats/${chatId}/messages`, { method: "POST", headers, body: JSON.stringify({ text }) });

describe("a chat turn's way to the model", () => {
  test("the model is asked after at most two sequential DynamoDB round trips; a turn sends eight requests in all", async () => {
    // Prepare
    const chatId = await newChat();
    const requestId = `round-trips-${randomUUID()}`;
    const asked = chat.gemini.requests.length;
    chat.gemini.enqueue({ kind: "text", chunks: ["Long", " walks."] });

    // Act
    const res = await send(chatId, { ...as(chat.owner.uid), "x-request-id": requestId });

    // Assess
    assert.equal(res.status, 200, res.body);
    const model = chat.gemini.requests[asked];
    assert.ok(model, "the model was asked");
    const calls = trace.of(requestId);
    const beforeModel = calls.filter((c) => c.start < model.receivedAt);
    const shown = calls.map((c) => `${c.command} ${(c.start - calls[0]!.start).toFixed(1)}–${(c.end - calls[0]!.start).toFixed(1)} ms`);
    assert.ok(roundTripsBefore(calls, model.receivedAt) <= 2, `round trips before the model: ${shown.join(", ")}`);
    // The account check, the chat, today's tokens; then the persona, the history and the turn's transaction.
    assert.deepEqual(
      beforeModel.map((c) => c.command).sort(),
      ["GetItem", "GetItem", "GetItem", "GetItem", "Query", "TransactWriteItems"],
      shown.join(", "),
    );
    // Then the reply stored with the lock released, and its tokens charged: eight (ten before issue 18).
    assert.equal(calls.length, 8, shown.join(", "));
  });
});

describe("a deleted account's token, with the check beside the first reads", () => {
  test("a send while the account check is still out writes nothing, and is 401 account_deleted once it answers", async () => {
    // Prepare: an app whose deleted-account check waits for the test, and answers "deleted".
    const chatId = await newChat();
    const held = Promise.withResolvers<void>();
    const checked = Promise.withResolvers<void>();
    const { lifecycle } = chat.stack.domains;
    const app = createApi(chat.stack.config, {
      logger: quiet,
      domains: {
        ...chat.stack.domains,
        lifecycle: {
          ...lifecycle,
          deletedAt: async () => {
            checked.resolve();
            await held.promise;
            return Date.now();
          },
        },
      },
    });
    const api = await nodeTarget(app);
    const requestId = `deleted-${randomUUID()}`;
    const asked = chat.gemini.requests.length;
    const tableBefore = await scanAll(chat.stack.config.tableName);

    // Act: the send's reads go ahead while the check is held; then the check answers.
    const sent = api.request(`/v1/chats/${chatId}/messages`, {
      method: "POST",
      headers: { ...streamingAs(chat.owner.uid), "x-request-id": requestId },
      body: JSON.stringify({ text: "Am I still here?" }),
    });
    await checked.promise;
    const deadline = Date.now() + 10_000;
    while (trace.of(requestId).length < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    const whileHeld = trace.of(requestId).map((c) => c.command);
    held.resolve();
    const res = await sent;
    await api.close();

    // Assess
    assert.deepEqual(whileHeld, ["GetItem", "GetItem"], "the chat and today's tokens were read while the check was out");
    assert.equal(res.status, 401, res.body);
    assert.equal(JSON.parse(res.body).error.code, "account_deleted");
    assert.deepEqual(
      trace.of(requestId).map((c) => c.command),
      ["GetItem", "GetItem"],
      "nothing but those reads was sent",
    );
    assert.deepEqual(await scanAll(chat.stack.config.tableName), tableBefore, "nothing was written");
    assert.equal(chat.gemini.requests.length, asked, "the model was not asked");
  });

  test("with the account deleted (its revocation recorded), a send is 401 and the chat is as it was", async () => {
    // Prepare: the moment after DELETE /v1/me revoked the account, before its chats are deleted.
    const { uid } = await ownerWithReadyPersona(chat.stack.target);
    const chatId = await newChat(uid);
    const now = new Date();
    await lifecycleStore(new Table(chat.stack.config.tableName)).revoke(accountPseudonym(uid), now, Math.ceil(now.getTime() / 1000) + 3600);
    const tableBefore = await scanAll(chat.stack.config.tableName);
    const asked = chat.gemini.requests.length;

    // Act
    const json = await send(chatId, as(uid));
    const streamed = await send(chatId, streamingAs(uid));

    // Assess
    for (const res of [json, streamed]) {
      assert.equal(res.status, 401, res.body);
      assert.equal(JSON.parse(res.body).error.code, "account_deleted");
    }
    assert.deepEqual(await scanAll(chat.stack.config.tableName), tableBefore, "nothing was written");
    assert.equal(chat.gemini.requests.length, asked, "the model was not asked");
  });
});

describe("a turn whose transaction was written but whose answer was lost", () => {
  // The next TransactWriteItems is sent and applied, then its answer is lost (as when a client
  // gives up on a transaction a busy table commits later).
  let armed = false;
  before(() =>
    dynamoClient().middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (armed && context.commandName === "TransactWriteItemsCommand") {
          armed = false;
          throw Object.assign(new Error("answer lost after the write"), { name: "TimeoutError" });
        }
        return out;
      },
      // Inside the dependency middleware (the error becomes a 503), outside the SDK's retries.
      { step: "build", name: "testLoseTransactionAnswer" },
    ),
  );

  type Page = { messages: { message_id: string; role: string; text: string; status: string }[] };
  const page = async (chatId: string): Promise<Page["messages"]> =>
    (JSON.parse((await chat.stack.target.request(`/v1/chats/${chatId}/messages`, { headers: as(chat.owner.uid) })).body) as Page).messages;
  /** The release goes on in the background: wait for no reply to be generating, not for a time. */
  async function settled(chatId: string): Promise<Page["messages"]> {
    const deadline = Date.now() + 10_000;
    let messages = await page(chatId);
    while (messages.some((m) => m.status === "generating") && Date.now() < deadline) messages = await page(chatId);
    return messages;
  }
  const retake = (chatId: string, replyId: string, kind: "regenerate" | "edit") =>
    kind === "regenerate"
      ? chat.stack.target.request(`/v1/chats/${chatId}/messages/${replyId}/regenerate`, { method: "POST", headers: as(chat.owner.uid) })
      : chat.stack.target.request(`/v1/chats/${chatId}/messages/${replyId}`, {
          method: "PUT",
          headers: as(chat.owner.uid),
          body: JSON.stringify({ text: "Said otherwise" }),
        });

  test("a send answers 503 with the user's message kept, and the chat takes the next send instead of 409 for the lock's five minutes", async () => {
    // Prepare
    const chatId = await newChat();
    const text = "Did this get through?";
    armed = true;

    // Act
    const lost = await send(chatId, as(chat.owner.uid), text);
    const messages = await settled(chatId);
    chat.gemini.enqueue({ kind: "text", chunks: ["Yes", " it did."] });
    const next = await send(chatId, as(chat.owner.uid));

    // Assess
    assert.equal(lost.status, 503, lost.body);
    assert.equal(JSON.parse(lost.body).error.code, "service_unavailable");
    assert.ok(
      messages.some((m) => m.role === "user" && m.text === text),
      "the user's message, written by the transaction, is kept",
    );
    assert.ok(!messages.some((m) => m.status === "generating"), "the reply left generating was ended");
    assert.equal(next.status, 200, `the next send is taken: ${next.body}`);
  });

  for (const kind of ["regenerate", "edit"] as const)
    test(`${kind === "edit" ? "an" : "a"} ${kind} answers 503, and the chat takes the next ${kind} instead of 409`, async () => {
      // Prepare: one finished turn
      const chatId = await newChat();
      chat.gemini.enqueue({ kind: "text", chunks: ["First", " answer."] });
      const first = await send(chatId, as(chat.owner.uid));
      assert.equal(first.status, 200, first.body);
      const { user_message_id: userId, reply } = JSON.parse(first.body) as { user_message_id: string; reply: { message_id: string } };
      const target = kind === "regenerate" ? reply.message_id : userId;
      armed = true;

      // Act
      const lost = await retake(chatId, target, kind);
      const messages = await settled(chatId);
      chat.gemini.enqueue({ kind: "text", chunks: ["Another", " answer."] });
      const lastReply = messages.filter((m) => m.role === "model").at(-1)!;
      const next = await retake(chatId, kind === "regenerate" ? lastReply.message_id : userId, kind);

      // Assess
      assert.equal(lost.status, 503, lost.body);
      assert.ok(!messages.some((m) => m.status === "generating"), "the reply left generating was ended");
      assert.equal(next.status, 200, `the next ${kind} is taken: ${next.body}`);
    });
});

describe("the persona checked inside the turn's transaction", () => {
  test("a guest's send after the persona went private is 404 and writes nothing; the transaction itself refuses it too", async () => {
    // Prepare: a public persona, a guest's chat with it, then the owner makes it private.
    const owner = await ownerWithReadyPersona(chat.stack.target);
    const guest = `guest-${randomUUID()}`;
    const visibility = (value: boolean) =>
      chat.stack.target.request("/v1/personas/me/visibility", {
        method: "PUT",
        headers: as(owner.uid),
        body: JSON.stringify({ public: value }),
      });
    assert.equal((await visibility(true)).status, 200);
    const opened = await chat.stack.target.request("/v1/chats", {
      method: "POST",
      headers: as(guest),
      body: JSON.stringify({ persona_id: owner.personaId }),
    });
    assert.equal(opened.status, 201, opened.body);
    const chatId = JSON.parse(opened.body).chat_id;
    assert.equal((await visibility(false)).status, 200);
    const tableBefore = await scanAll(chat.stack.config.tableName);
    const stored = await chat.stack.domains.chats.get(guest, chatId);

    // Act: through the API, and the turn's transaction alone (as if the persona's read had raced ahead of the change).
    const res = await send(chatId, as(guest));
    const store = chatStore(new Table(chat.stack.config.tableName));
    const written = await store.openTurn(stored, newTurn(stored, "Hello?", 60_000), {
      conditions: chat.stack.domains.personas.stillChattable(guest, owner.uid, owner.personaId),
    });

    // Assess
    assert.equal(res.status, 404, res.body);
    assert.equal(written, "refused");
    assert.deepEqual(await scanAll(chat.stack.config.tableName), tableBefore, "nothing was written");
  });
});
