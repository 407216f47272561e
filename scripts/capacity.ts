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
import { getUser, upsertUser } from "../backend/identity/users.ts";
import { RATING_ITEMS, type Answers } from "../backend/surveys/questions.ts";
import { getSurvey, openSurvey, saveSelfAnswer, submitAnswer, surveySummary } from "../backend/surveys/surveys.ts";
import { loadConfig } from "../backend/config.ts";
import { statusEventsAfter } from "../backend/personas/model.ts";
import { personaView, requestPersona } from "../backend/personas/personas.ts";
import { runIllustration, runSynthesis } from "../backend/personas/steps.ts";
import { sendStep } from "../backend/ports/queue.ts";
import { sagaRuntime } from "../backend/workers/runtime.ts";
import { OfflineLLM } from "../backend/ai/offline.ts";
import { publicCard } from "../backend/social/cards.ts";
import { setVisibility } from "../backend/social/visibility.ts";
import { prepareTurn, streamTurn } from "../backend/chats/chats.ts";
import { startChat } from "../backend/chats/start.ts";
import { getChat, listMessages } from "../backend/chats/store.ts";

const tableName = "remirai-capacity";
const settings = { tableName, answersPerIpPerHour: 1000, answersPerSurveyPerMinute: 1000 };
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
  const queues = await provision({ tableName, synthesisQueue: "capacity-synthesis", imageQueue: "capacity-image", mediaBucket: "capacity-media" });
  const config = loadConfig({ ...process.env, TABLE_NAME: tableName, SYNTHESIS_QUEUE_URL: queues.synthesisQueueUrl, IMAGE_QUEUE_URL: queues.imageQueueUrl, MEDIA_BUCKET: "capacity-media", GEMINI_API_KEY: "" });
  const runtime = sagaRuntime(config, { ...process.env, GEMINI_API_KEY: "" });
  const personas = { settings: config, sendStep };

  await measure("sign in (create or update user)", "UpdateItem USER#uid/PROFILE", () => upsertUser(tableName, { uid: "g_1", email: "a@example.com", name: "Aki" }));
  await measure("GET /v1/me", "GetItem USER#uid/PROFILE", () => getUser(tableName, "g_1"));
  let surveyId = "";
  await measure("POST /v1/surveys (new)", "TransactWrite: Put USER#uid/OPEN_SURVEY + Put SURVEY#id/META", async () => {
    surveyId = (await openSurvey(tableName, { uid: "g_1", name: "Aki" })).surveyId;
  });
  await measure("POST /v1/surveys (existing)", "same, cancelled; old pointer returned (ALL_OLD)", () => openSurvey(tableName, { uid: "g_1", name: "Aki" }));
  await measure("GET /v1/surveys/:id", "GetItem SURVEY#id/META", () => getSurvey(tableName, surveyId));
  await measure(
    "POST /v1/surveys/:id/responses",
    "TransactWrite: Update META (exists, open, not the owner) + Put ANSWER#hmac + 2× Update RATE#… (conditional ADD)",
    () => submitAnswer(settings, surveyId, { question_set: "v1", fingerprint: "device-0001", answers }, { ip: "198.51.100.1" }),
  );
  for (const fp of ["device-0002", "device-0003"]) await submitAnswer(settings, surveyId, { question_set: "v1", fingerprint: fp, answers }, { ip: "198.51.100.1" });
  await measure("PUT /v1/surveys/:id/self", "TransactWrite: ConditionCheck META + Put SELF", () =>
    saveSelfAnswer(tableName, surveyId, "g_1", { question_set: "v1", answers: { adjectives: ["kind", "shy", "calm", "tense", "quiet"] } }),
  );
  await measure("GET /v1/surveys/:id/summary (3 answers)", "Query PK = SURVEY#id (consistent)", () => surveySummary(tableName, surveyId, "g_1"));
  let sagaId = "";
  await measure("POST /v1/personas/me (start saga)", "GetItem PERSONA + 2× GetItem survey + TransactWrite: Put PERSONA + Put PERSONA_EVENT", async () => {
    sagaId = (await requestPersona(personas, "g_1")).sagaId;
  });
  const delivery = { receiveCount: 1, maxReceiveCount: 5 };
  await measure("saga step 1 (synthesis worker, offline writer)", "GetItem PERSONA + Query SURVEY#id + TransactWrite: Update PERSONA + Put PERSONA_EVENT", () =>
    runSynthesis(runtime.steps, { uid: "g_1", sagaId }, delivery),
  );
  await measure("saga step 2 (image worker, offline portrait)", "GetItem PERSONA + TransactWrite: Update PERSONA + Put PERSONA_EVENT", () =>
    runIllustration(runtime.steps, { uid: "g_1", sagaId }, delivery),
  );
  await measure("GET /v1/personas/me", "GetItem PERSONA + 2× GetItem survey", () => personaView({ settings: config, sendStep }, "g_1"));
  await measure("status feed, one poll", "Query USER#uid, SK > PERSONA_EVENT#n", () => statusEventsAfter(tableName, "g_1", 0));
  await measure("PUT /v1/personas/me/visibility", "UpdateItem PERSONA (conditional)", () => setVisibility(tableName, "g_1", true));
  const personaId = (await personaView({ settings: config, sendStep }, "g_1")).persona_id!;
  await measure("GET /v1/personas/:id/card", "GetItem PERSONA#id/OWNER + GetItem PERSONA", () => publicCard({ tableName, mediaBaseUrl: config.mediaBaseUrl }, personaId));
  let chatId = "";
  await measure("POST /v1/chats", "GetItem PERSONA + UpdateItem CHAT (conditional create)", async () => {
    chatId = (await startChat(tableName, "g_1")).chatId;
  });
  const chatDeps = {
    llm: new OfflineLLM(),
    settings: { tableName, messagesPerMinute: 1000, dailyTokenBudget: 1_000_000, messageMaxChars: 4000, contextTokens: 6000, maxOutputTokens: 1024, stopPollMs: 300 },
  };
  await measure(
    "one chat turn (POST /v1/chats/:id/messages, offline model)",
    "GetItem CHAT + rate UpdateItem + budget GetItem + GetItem PERSONA + TransactWrite (lock, user msg, reply) + Query history + TransactWrite (reply, unlock) + budget UpdateItem",
    async () => {
      const turn = await prepareTurn(chatDeps, "g_1", chatId, "What do you like to do on weekends?");
      for await (const _event of streamTurn(chatDeps, turn, new AbortController().signal));
    },
  );
  await measure("GET /v1/chats/:id/messages (one page)", "GetItem CHAT + Query CHAT#id", async () => {
    await getChat(tableName, "g_1", chatId);
    await listMessages(tableName, chatId, 50);
  });

  const table = [
    "| flow | requests | RCU | WCU | access pattern |",
    "| --- | ---: | ---: | ---: | --- |",
    ...rows.map((r) => `| ${r.flow} | ${r.capacity.requests} | ${r.capacity.readUnits} | ${r.capacity.writeUnits} | ${r.pattern} |`),
  ].join("\n");
  console.log(table);
  const doc = await readFile("docs/data-model.md", "utf8");
  const updated = doc.replace(/<!-- capacity:start -->[\s\S]*<!-- capacity:end -->/, `<!-- capacity:start -->\n${table}\n<!-- capacity:end -->`);
  await writeFile("docs/data-model.md", updated);
} finally {
  await stopLocalServices();
}
