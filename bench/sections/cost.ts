/**
 * Section 6: what each user-facing flow costs in DynamoDB capacity and AWS requests, measured
 * in this process against DynamoDB Local (`measureCapacity`: `ReturnConsumedCapacity: TOTAL`
 * on every request of the flow, as `npm run capacity` does) with the domain code the
 * handlers and workers call. SQS sends and S3 puts are counted by wrapping the ports the
 * domain is given. Providers are the offline ones: the table sees the same requests.
 */
import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { OfflineImageModel, OfflineLLM } from "../../backend/ai/offline.ts";
import { compose, portsFor } from "../../backend/compose.ts";
import { loadConfig } from "../../backend/config.ts";
import { exportSecrets, generateSecrets } from "../../backend/local/secrets.ts";
import { dynamoClient } from "../../backend/ports/aws.ts";
import { measureCapacity } from "../../backend/ports/capacity.ts";
import { RATING_ITEMS, type Answers } from "../../backend/surveys/questions.ts";
import { pacedChats, pacedReply } from "../../scripts/paced-reply.ts";
import { localStack } from "../lib/stack.ts";
import { measureChatTtft, ttftFigures } from "./chat-ttft.ts";
import type { SectionResult, SummaryRow } from "../lib/report.ts";
import { num, ratio, table } from "../lib/stats.ts";

const TITLE = "6. Cost per flow";

interface Flow {
  flow: string;
  dynamo: { requests: number; rcu: number; wcu: number; awsRcu: number; awsWcu: number; commands: string[] };
  sqs: number;
  s3: number;
  note: string;
}

/** Per DynamoDB request while a flow is measured: its command and what DynamoDB Local reported. */
let log: { command: string; consumed: ConsumedCapacity | ConsumedCapacity[] | undefined }[] | undefined;
let installed = false;
function logCommands(): void {
  if (installed) return;
  installed = true;
  dynamoClient().middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      log?.push({
        command: String(context.commandName).replace(/Command$/, ""),
        consumed: (out.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity,
      });
      return out;
    },
    // Inside the capacity meter (same step, lower priority), so it sees `ReturnConsumedCapacity`.
    { step: "initialize", priority: "low", name: "benchCommandLog" },
  );
}

const counts = { sqs: 0, s3: 0 };

async function measure(flow: string, note: string, work: () => Promise<unknown>): Promise<Flow> {
  log = [];
  counts.sqs = counts.s3 = 0;
  const { capacity } = await measureCapacity(work);
  const entries = log;
  log = undefined;
  // On AWS a transaction costs twice the units of plain reads/writes; DynamoDB Local reports plain units.
  let awsRcu = 0;
  let awsWcu = 0;
  for (const { command, consumed } of entries) {
    const factor = command.startsWith("Transact") ? 2 : 1;
    for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
      const reads = c.ReadCapacityUnits ?? (/^(Get|BatchGet|TransactGet|Query|Scan)/.test(command) ? (c.CapacityUnits ?? 0) : 0);
      const writes = c.WriteCapacityUnits ?? (reads === 0 ? (c.CapacityUnits ?? 0) : 0);
      awsRcu += reads * factor;
      awsWcu += writes * factor;
    }
  }
  const commands = new Map<string, number>();
  for (const { command } of entries) commands.set(command, (commands.get(command) ?? 0) + 1);
  return {
    flow,
    note,
    sqs: counts.sqs,
    s3: counts.s3,
    dynamo: {
      requests: capacity.requests,
      rcu: capacity.readUnits,
      wcu: capacity.writeUnits,
      awsRcu,
      awsWcu,
      commands: [...commands].map(([c, n]) => (n > 1 ? `${n}× ${c}` : c)),
    },
  };
}

export async function costSection(): Promise<SectionResult> {
  const stack = await localStack();
  const resources = await stack.provision("cost");
  exportSecrets(generateSecrets());
  const env = {
    ...process.env,
    TABLE_NAME: resources.tableName,
    SYNTHESIS_QUEUE_URL: resources.synthesisQueueUrl,
    IMAGE_QUEUE_URL: resources.imageQueueUrl,
    MEDIA_BUCKET: resources.mediaBucket,
    GEMINI_API_KEY: "",
  };
  const config = loadConfig({
    ...env,
    ANSWERS_PER_IP_PER_HOUR: "1000",
    ANSWERS_PER_SURVEY_PER_MINUTE: "1000",
    CHAT_MESSAGES_PER_MINUTE: "1000",
    CHAT_DAILY_TOKEN_BUDGET: "1000000",
  });
  // The real queue and media ports, counted: the domain is given them as it is in production.
  const real = portsFor(config, { llm: new OfflineLLM(), images: new OfflineImageModel() });
  const { surveys, personas, saga, chats } = compose(config, {
    ...real,
    queues: {
      send: (step, message, trace) => {
        counts.sqs++;
        return real.queues.send(step, message, trace);
      },
      backlog: real.queues.backlog,
    },
    media: {
      ...real.media,
      putPortrait: (personaId, bytes, type) => {
        counts.s3++;
        return real.media.putPortrait(personaId, bytes, type);
      },
    },
  });
  const answers: Answers = {
    adjectives: ["kind", "witty", "calm", "brave", "wise"],
    ratings: Object.fromEntries(RATING_ITEMS.map((i) => [i.id, 5])) as Answers["ratings"],
    texts: { strength: "Listens like nobody else and remembers everything you said." },
  };
  logCommands();

  const uid = "bench-cost-owner";
  const { surveyId } = await surveys.open({ uid, name: "Aki" });
  const flows: Flow[] = [];
  flows.push(
    await measure(
      "survey answer (`POST /v1/surveys/:id/responses`)",
      "one transaction: the answer, the survey's count and both rate-limit counters (per IP, per survey); then the survey read back (is a round due?) and its count copied onto the owner's `OPEN_SURVEY` pointer, which the persona read reads",
      () => surveys.answer(surveyId, { question_set: "v1", fingerprint: "bench-friend-1", answers }, { ip: "198.51.100.1" }),
    ),
  );
  for (const fp of ["bench-friend-2", "bench-friend-3"])
    await surveys.answer(surveyId, { question_set: "v1", fingerprint: fp, answers }, { ip: "198.51.100.1" });
  let sagaId = "";
  const delivery = { receiveCount: 1, maxReceiveCount: 5 };
  flows.push(
    await measure(
      "persona saga (`POST /v1/personas/me` + step 1 + step 2)",
      "start + synthesis worker + image worker (offline writer and portrait)",
      async () => {
        sagaId = (await personas.start(uid)).sagaId;
        await saga.synthesis({ uid, sagaId }, delivery);
        await saga.illustration({ uid, sagaId }, delivery);
      },
    ),
  );
  // The start on its own (issue 18: at most 3 AWS calls), by a second owner prepared the same way.
  const starter = "bench-cost-starter";
  const second = await surveys.open({ uid: starter, name: "Ren" });
  for (const fp of ["bench-friend-4", "bench-friend-5", "bench-friend-6"])
    await surveys.answer(second.surveyId, { question_set: "v1", fingerprint: fp, answers }, { ip: "198.51.100.2" });
  flows.push(
    await measure(
      "persona start (`POST /v1/personas/me`)",
      "the persona and which survey is open, the start's transaction (persona, event, limit; the survey's answers checked), step 1's message",
      () => personas.start(starter),
    ),
  );
  const chat = await chats.open(uid);
  flows.push(
    await measure(
      "chat turn (`POST /v1/chats/:id/messages`)",
      "the chat and today's tokens; then the persona, the history and one transaction (message + reply placeholder + lock + message counter, the persona checked) side by side; reply stored, budget charged (offline model)",
      async () => {
        const turn = await chats.send(uid, chat.chatId, "What do you like to do on weekends?");
        await chats.startReply(turn).finished;
      },
    ),
  );
  const paced = pacedChats(config, new OfflineImageModel());
  for (const connected of [true, false])
    flows.push(
      await measure(
        `a 30-second reply, ${connected ? "its client connected" : "nobody connected"} (time scaled 10×)`,
        connected
          ? "the chat turn above with a reply generated for 30 s; no progress is written while its client listens"
          : "the same reply with its client gone at once: its progress (chunks since the last write, and the lease) is written at most once per CHAT_PROGRESS_INTERVAL_MS (1 s)",
        () => pacedReply(paced, uid, chat.chatId, connected),
      ),
    );
  flows.push(
    await measure(
      "persona read (`GET /v1/personas/me`)",
      "one BatchGetItem: the persona and the open survey's pointer, which carries the survey's answer count (issue 18: one call)",
      () => personas.view(uid),
    ),
  );

  // Through the HTTP API with the real Gemini SDK and the fake server: what a turn waits before its model is asked.
  const ttft = ttftFigures(await measureChatTtft(env, uid));

  const answer = flows[0]!;
  const units = (f: Flow) => f.dynamo.awsRcu + f.dynamo.awsWcu;
  const rows = flows.map((f) => [
    f.flow,
    f.dynamo.requests + f.sqs + f.s3,
    f.dynamo.requests,
    f.sqs,
    f.s3,
    num(f.dynamo.rcu, 1),
    num(f.dynamo.wcu, 1),
    `${num(f.dynamo.awsRcu, 1)} / ${num(f.dynamo.awsWcu, 1)}`,
    ratio(units(f), units(answer)),
    f.dynamo.commands.join(", "),
  ]);
  const summary: SummaryRow[] = flows.map((f) => ({
    section: TITLE,
    metric: f.flow.replace(/ \(.*\)$/, ""),
    value: `${f.dynamo.requests + f.sqs + f.s3} AWS requests; ${num(f.dynamo.rcu, 1)} RCU + ${num(f.dynamo.wcu, 1)} WCU (AWS: ${num(f.dynamo.awsRcu, 1)} + ${num(f.dynamo.awsWcu, 1)})`,
    ratio: `${ratio(units(f), units(answer))} a survey answer`,
    target: "(reported)",
    verdict: "",
  }));
  summary.push({
    section: TITLE,
    metric: "chat turn: server-side time to the model request",
    value: `p50 ${num(ttft.p50, 2)} ms, p99 ${num(ttft.p99, 2)} ms; ${ttft.roundTrips} sequential DynamoDB round trips before it (max ${ttft.maxRoundTrips}), ${ttft.requests} DynamoDB requests per turn via the API`,
    ratio: "",
    target: "≤ 2 round trips before the model",
    verdict: ttft.maxRoundTrips <= 2 ? `met (${ttft.maxRoundTrips} ≤ 2)` : `missed (${ttft.maxRoundTrips} > 2)`,
  });
  const body = [
    "Measured in the benchmark's own process against DynamoDB Local (in memory) and fauxqs, with the domain functions the route " +
      "handlers and workers call (as `npm run capacity` does, see docs/data-model.md), every DynamoDB request asking for " +
      '`ReturnConsumedCapacity: TOTAL`. "AWS" units double the transactional requests\' units: DynamoDB bills a transactional ' +
      "write or read at twice a plain one, while DynamoDB Local reports plain units. SQS and S3 are the calls our code makes; " +
      "in AWS the Lambda event source mapping also receives and deletes each step's message (one `ReceiveMessage` and one " +
      "`DeleteMessage(Batch)` per batch, per step), which is not our code and is not counted. The ratio column compares the AWS " +
      "units (RCU + WCU) of each flow with a survey answer's.",
    "",
    table(
      ["flow", "AWS requests", "DynamoDB", "SQS", "S3", "RCU (Local)", "WCU (Local)", "AWS RCU / WCU", "× answer", "DynamoDB requests"],
      rows,
    ),
    "",
    ...flows.map((f) => `- ${f.flow}: ${f.note}.`),
    "",
    `**Chat turn, time to the model request** (issue 18, target 3; bench/sections/chat-ttft.ts): ${ttft.turns} turns sent one ` +
      "after another to the production API in this process (node:http, request log off, real Gemini SDK → the fake Gemini " +
      "server, also in this process), ten per chat. Request arrival at the API → the fake server has the model request: " +
      `**p50 ${num(ttft.p50, 2)} ms, p99 ${num(ttft.p99, 2)} ms**. Sequential DynamoDB round trips before the model request: ` +
      `**${ttft.roundTrips}** (max ${ttft.maxRoundTrips}); DynamoDB requests per turn via the API: ${ttft.requests} (the ` +
      `deleted-account check included). Before the model, in the order they began: ${ttft.beforeModel.join(", ")}. Medians: ` +
      `arrival → first DynamoDB request ${num(ttft.phases.toFirstRead, 2)} ms, then DynamoDB until its last answer before the ` +
      `model ${num(ttft.phases.dynamo, 2)} ms, then → the model request received ${num(ttft.phases.toModel, 2)} ms.`,
  ].join("\n");
  return {
    title: TITLE,
    body,
    summary,
    commands: [
      "(in the benchmark's own process: bench/sections/cost.ts against DynamoDB Local and fauxqs, started as `npm run capacity` starts them)",
    ],
  };
}
