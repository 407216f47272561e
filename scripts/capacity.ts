/**
 * Measures the DynamoDB capacity units of each access pattern against a fresh in-memory
 * DynamoDB Local (`ReturnConsumedCapacity: TOTAL` on every request, summed per flow), and
 * writes the table into docs/data-model.md between its capacity markers.
 *
 *   npm run capacity
 */
import { readFile, writeFile } from "node:fs/promises";
import { measureCapacity, type CapacityUsed } from "../backend/ports/capacity.ts";
import { provision } from "../backend/local/provision.ts";
import { freePort, localAwsEnv, startDynamoDbLocal, startFauxqs, stopLocalServices } from "../backend/local/services.ts";
import { generateSecrets, exportSecrets } from "../backend/local/secrets.ts";
import { RATING_ITEMS, type Answers } from "../backend/surveys/questions.ts";
import { loadConfig } from "../backend/config.ts";
import { compose } from "../backend/compose.ts";
import { userStore } from "../backend/identity/store.ts";
import { OfflineImageModel, OfflineLLM } from "../backend/ai/offline.ts";
import { pacedChats, pacedReply } from "./paced-reply.ts";

const tableName = "remirai-capacity";
const answers: Answers = {
  adjectives: ["kind", "witty", "calm", "brave", "wise"],
  ratings: Object.fromEntries(RATING_ITEMS.map((i) => [i.id, 5])) as Answers["ratings"],
  texts: { strength: "Listens like nobody else and remembers everything you said." },
};

const rows: { flow: string; pattern: string; capacity: CapacityUsed }[] = [];
async function measure(flow: string, pattern: string, work: () => Promise<unknown>) {
  const { capacity } = await measureCapacity(work);
  rows.push({ flow, pattern, capacity });
}

try {
  const [dynamodb, fauxqs] = await Promise.all([freePort().then((port) => startDynamoDbLocal({ port })), startFauxqs({ port: 0 })]);
  Object.assign(process.env, localAwsEnv(dynamodb, fauxqs));
  exportSecrets(generateSecrets());
  const queues = await provision({
    tableName,
    synthesisQueue: "capacity-synthesis",
    imageQueue: "capacity-image",
    mediaBucket: "capacity-media",
  });
  const config = loadConfig({
    ...process.env,
    TABLE_NAME: tableName,
    SYNTHESIS_QUEUE_URL: queues.synthesisQueueUrl,
    IMAGE_QUEUE_URL: queues.imageQueueUrl,
    LIFECYCLE_QUEUE_URL: queues.lifecycleQueueUrl,
    MEDIA_BUCKET: "capacity-media",
    ANSWERS_PER_IP_PER_HOUR: "1000",
    ANSWERS_PER_SURVEY_PER_MINUTE: "1000",
    CHAT_MESSAGES_PER_MINUTE: "1000",
    CHAT_DAILY_TOKEN_BUDGET: "1000000",
  });
  const { identity, surveys, personas, saga, social, chats, lifecycle, ports } = compose(config, {
    llm: new OfflineLLM(),
    images: new OfflineImageModel(),
  });
  const users = userStore(ports.table);
  const caller = { uid: "g_1", email: "a@example.com", via: "app_token" };

  await measure("sign in (create or update user)", "UpdateItem USER#uid/PROFILE", () =>
    users.signedIn({ uid: "g_1", email: "a@example.com", name: "Aki" }),
  );
  await measure("GET /v1/me", "GetItem USER#uid/PROFILE", () => identity.profileOf(caller));
  await measure("deleted-account check (every identified request)", "GetItem REVOKED#pseudonym/ACCOUNT (eventually consistent)", () =>
    lifecycle.deletedAt("g_1"),
  );
  let surveyId = "";
  await measure(
    "POST /v1/surveys (new)",
    "TransactWrite: Put USER#uid/OPEN_SURVEY + Put SURVEY#id/META + Put USER#uid/SURVEY#id",
    async () => {
      surveyId = (await surveys.open({ uid: "g_1", name: "Aki" })).surveyId;
    },
  );
  await measure("POST /v1/surveys (existing)", "same, cancelled; old pointer returned (ALL_OLD)", () =>
    surveys.open({ uid: "g_1", name: "Aki" }),
  );
  await measure("GET /v1/surveys/:id", "GetItem SURVEY#id/META", () => surveys.get(surveyId));
  let receipt = "";
  await measure(
    "POST /v1/surveys/:id/responses",
    "TransactWrite: Update META (exists, open, not the owner) + Put ANSWER#hmac + 2× Update RATE#… (conditional ADD); GetItem META (a round due?) + UpdateItem OPEN_SURVEY (the count's copy, conditional)",
    async () => {
      receipt = (await surveys.answer(surveyId, { question_set: "v1", fingerprint: "device-0001", answers }, { ip: "198.51.100.1" }))
        .receipt;
    },
  );
  await surveys.answer(surveyId, { question_set: "v1", fingerprint: "device-0002", answers }, { ip: "198.51.100.1" });
  await measure(
    "POST /v1/surveys/:id/responses (the 3rd change: publishes a round)",
    "the answer as above + Query SURVEY#id (consistent) + TransactWrite: Put ROUND#n + Update META (round, changes unchanged) + GetItem META (the copy beside the round's work)",
    () => surveys.answer(surveyId, { question_set: "v1", fingerprint: "device-0003", answers }, { ip: "198.51.100.1" }),
  );
  await measure("PUT /v1/surveys/:id/self", "TransactWrite: ConditionCheck META + Put SELF", () =>
    surveys.saveSelf(surveyId, "g_1", { question_set: "v1", answers: { adjectives: ["kind", "shy", "calm", "tense", "quiet"] } }),
  );
  await measure("GET /v1/surveys/:id/summary", "GetItem META + GetItem ROUND#n + GetItem SELF (consistent)", () =>
    surveys.summary(surveyId, "g_1"),
  );
  let sagaId = "";
  await measure(
    "POST /v1/personas/me (start saga)",
    "BatchGetItem PERSONA + OPEN_SURVEY + TransactWrite: Put PERSONA + Put PERSONA_EVENT + Put PERSONA#id/OWNER + Update RATE#USER#uid (starts today) + ConditionCheck SURVEY#id/META (published answers)",
    async () => {
      sagaId = (await personas.start("g_1")).sagaId;
    },
  );
  const delivery = { receiveCount: 1, maxReceiveCount: 5 };
  await measure(
    "saga step 1 (synthesis worker, offline writer)",
    "GetItem PERSONA + GetItem META + GetItem ROUND#n + GetItem SELF + Query SURVEY#id (the round's quotes) + TransactWrite: Update PERSONA + Put PERSONA_EVENT",
    () => saga.synthesis({ uid: "g_1", sagaId }, delivery),
  );
  await measure(
    "saga step 2 (image worker, offline portrait)",
    "GetItem PERSONA + TransactWrite: Update PERSONA + Put PERSONA_EVENT + GetItem PERSONA (publication)",
    () => saga.illustration({ uid: "g_1", sagaId }, delivery),
  );
  await measure("GET /v1/personas/me", "BatchGetItem PERSONA + OPEN_SURVEY (which carries the survey's answer count)", () =>
    personas.view("g_1"),
  );
  await measure("status feed, one poll", "Query USER#uid, SK > PERSONA_EVENT#n", () => personas.statusEventsAfter("g_1", 0));
  await measure(
    "PUT /v1/personas/me/visibility",
    "UpdateItem PERSONA + GetItem PERSONA + UpdateItem PERSONA (public portrait, conditional)",
    () => personas.setVisibility("g_1", true),
  );
  const personaId = (await personas.view("g_1")).persona_id!;
  await measure("GET /v1/personas/:id/card", "GetItem PERSONA#id/OWNER + GetItem PERSONA", () => social.publicCard(personaId));
  let chatId = "";
  let [lastUserId, lastReplyId] = ["", ""];
  await measure(
    "POST /v1/chats",
    "GetItem PERSONA + TransactWrite: Put CHAT + Put USER#personaUid/PERSONA_CHAT#id + Put MSG (the greeting) + Update RATE (chats this hour)",
    async () => {
      chatId = (await chats.open("g_1")).chatId;
    },
  );
  await measure(
    "one chat turn (POST /v1/chats/:id/messages, offline model)",
    "GetItem CHAT + budget GetItem, then side by side GetItem PERSONA + Query history + TransactWrite (lock, user msg, reply, rate counter; ConditionCheck PERSONA + PERSONA#id/OWNER); TransactWrite (reply, unlock) + budget UpdateItem",
    async () => {
      const turn = await chats.send("g_1", chatId, "What do you like to do on weekends?");
      await chats.startReply(turn).finished;
      [lastUserId, lastReplyId] = [turn.user.messageId, turn.reply.messageId];
    },
  );
  await measure(
    "regenerate the last reply (POST …/messages/:id/regenerate, offline model)",
    "GetItem CHAT + GetItem MSG + Query last 2 + budget GetItem + GetItem PERSONA + GetItem user MSG + TransactWrite (lock, reply: a new alternate, rate counter) + Query history + TransactWrite (reply + its alternate, unlock) + budget UpdateItem",
    async () => {
      const chat = await chats.get("g_1", chatId);
      await chats.startReply(await chats.regenerate(chat, lastReplyId)).finished;
    },
  );
  await measure(
    "edit the last user message (PUT …/messages/:id, offline model)",
    "GetItem CHAT + GetItem MSG + Query last 2 + budget GetItem + GetItem PERSONA + TransactWrite (lock, user msg, delete the old reply, put the new, rate counter) + Query history + TransactWrite (reply, unlock) + budget UpdateItem",
    async () => {
      const chat = await chats.get("g_1", chatId);
      await chats.startReply(await chats.edit(chat, lastUserId, "What do you like to do on holidays?")).finished;
    },
  );
  const paced = pacedChats(config, new OfflineImageModel());
  await measure(
    "a 30-second reply, its client connected (time scaled 10×)",
    "one chat turn as above; the stop/follow flag GetItem every CHAT_STOP_POLL_MS; no progress written",
    () => pacedReply(paced, "g_1", chatId, true),
  );
  await measure(
    "a 30-second reply, nobody connected (time scaled 10×)",
    "one chat turn as above + a PutItem PROG#reply#alt#seq at most every CHAT_PROGRESS_INTERVAL_MS (chunks since the last, lease)",
    () => pacedReply(paced, "g_1", chatId, false),
  );
  await measure("GET /v1/chats/:id/messages (one page)", "GetItem CHAT + Query CHAT#id", async () => {
    await chats.history(await chats.get("g_1", chatId), 50, { direction: "older" });
  });
  await measure(
    "POST /v1/surveys/:id/responses/withdraw",
    "GetItem ANSWER#hmac + TransactWrite: Update ANSWER (tombstone, receipt unspent) + Update META; GetItem META (a round due?) + UpdateItem OPEN_SURVEY (the count's copy)",
    () => surveys.withdraw(surveyId, receipt),
  );

  await measure("POST /v1/surveys/:id/close", "UpdateItem SURVEY#id/META (owner, open or closed)", () => surveys.close(surveyId, "g_1"));
  await measure(
    "GET /v1/me/export (this account)",
    "Update RATE + GetItem PROFILE + Query USER#uid/SURVEY# + GetItem OPEN_SURVEY + per survey: GetItem META, ROUND#n, SELF (its summary) and SELF + GetItem PERSONA + Query events + Query USER#uid/CHAT# + Query CHAT#id per page",
    async () => {
      for await (const _chunk of await lifecycle.exportOf("g_1"));
    },
  );
  await measure(
    "DELETE /v1/me (this account, inside the request)",
    "every item found by key or Query from USER#uid (never Scan), deleted by BatchWriteItem; a second pass queued for later (DELETION_RECHECK_SECONDS)",
    () => lifecycle.deleteAccount("g_1"),
  );

  const table = [
    "| flow | requests | RCU | WCU | access pattern |",
    "| --- | ---: | ---: | ---: | --- |",
    ...rows.map((r) => `| ${r.flow} | ${r.capacity.requests} | ${r.capacity.readUnits} | ${r.capacity.writeUnits} | ${r.pattern} |`),
  ].join("\n");
  console.log(table);
  const doc = await readFile("docs/data-model.md", "utf8");
  const updated = doc.replace(
    /<!-- capacity:start -->[\s\S]*<!-- capacity:end -->/,
    `<!-- capacity:start -->\n${table}\n<!-- capacity:end -->`,
  );
  await writeFile("docs/data-model.md", updated);
} finally {
  await stopLocalServices();
}
