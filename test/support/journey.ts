/**
 * One persona's journey, run in a process of its own so that its stdout holds exactly what
 * the API, the two step workers and the sweeper write — log lines and EMF documents — as
 * `./run.sh` shows them: friends' answers (one a duplicate, one over the survey's limit), a
 * saga whose first message is lost and re-driven by the sweeper, then finished by the
 * workers with a model that fails once, two chat turns (one complete, one stopped), and a
 * friend withdrawing their answer.
 * Last it prints one line `{"journey": {...}}` with the ids to follow, and exits (what is
 * still pending is written at exit).
 *
 * Run by test/operations.test.ts with the shared services' environment (global setup) and
 * metrics and INFO logs on; the model is the fake Gemini, served from here.
 */
import { randomUUID } from "node:crypto";
import { DeleteMessageCommand } from "@aws-sdk/client-sqs";
import { localSaga, startLocalWorkers } from "../../backend/local/workers.ts";
import { logger } from "../../backend/log.ts";
import { sqsClient } from "../../backend/ports/aws.ts";
import { sweepHandler } from "../../backend/workers/sweep-handler.ts";
import { startFakeGemini, type Behaviour } from "../../fixtures/fake-gemini.ts";
import { PERSONA_CARD, PORTRAIT_PNG } from "../../fixtures/model-fixtures.ts";
import { as, friendAnswer, ownerWithAnswers, receiveSteps, sagaStack, sseEvents } from "./saga.ts";

const KEY = "journey-gemini-key";
const gemini = await startFakeGemini({
  apiKey: KEY,
  fallback: (request): Behaviour =>
    request.method === "streamGenerateContent"
      ? { kind: "text", chunks: ["Fine,", " thanks", " for", " asking."] }
      : request.model.includes("image")
        ? { kind: "image", bytes: PORTRAIT_PNG, mimeType: "image/png" }
        : { kind: "json", value: PERSONA_CARD },
});
// The first model call (writing the persona) fails once and is retried.
gemini.enqueue({ kind: "error", status: 500 });

const correlationId = `journey-${randomUUID()}`;
const stack = await sagaStack(
  {
    // A step is overdue at once (the sweeper runs by hand, once); the 5th answer a minute is refused.
    SAGA_STEP_TIMEOUT_MS: "1",
    ANSWERS_PER_SURVEY_PER_MINUTE: "4",
    GEMINI_API_KEY: KEY,
    GEMINI_BASE_URL: gemini.url,
  },
  { workers: false, logger },
);
const { target, domains } = stack;
const post = (path: string, body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
  target.request(path, { method: "POST", headers, body: JSON.stringify(body) });
const expect = (what: string, status: number, wanted: number) => {
  if (status !== wanted) throw new Error(`${what}: ${status}, expected ${wanted}`);
};

// Answers: three accepted (the first round published), a duplicate (409), a fourth accepted, a fifth over the limit (429).
const { uid, surveyId } = await ownerWithAnswers(target, 3);
expect("duplicate answer", (await post(`/v1/surveys/${surveyId}/responses`, friendAnswer(`${uid}-friend-0`))).status, 409);
const fourth = await post(`/v1/surveys/${surveyId}/responses`, friendAnswer(`${uid}-friend-3`));
expect("4th answer", fourth.status, 201);
expect("5th answer", (await post(`/v1/surveys/${surveyId}/responses`, friendAnswer(`${uid}-friend-4`))).status, 429);

// The saga starts with our request id; its first message is lost; the sweeper re-drives it.
const started = await target.request("/v1/personas/me", { method: "POST", headers: { ...as(uid), "x-request-id": correlationId } });
expect("saga start", started.status, 202);
const sagaId = JSON.parse(started.body).saga_id as string;
const lost = (await receiveSteps(stack.config.synthesisQueueUrl)).Records[0]!;
await sqsClient().send(new DeleteMessageCommand({ QueueUrl: stack.config.synthesisQueueUrl, ReceiptHandle: lost.receiptHandle }));
const sweep = await sweepHandler(domains.saga, domains.ports.metrics)();
if (sweep.redriven !== 1) throw new Error(`the sweeper re-drove ${sweep.redriven} sagas`);

const workers = startLocalWorkers(localSaga(domains), { waitTimeSeconds: 1, retryDelaySeconds: 0, sweepIntervalMs: 3_600_000 });
const deadline = AbortSignal.timeout(60_000);
for (;;) {
  const view = JSON.parse((await target.request("/v1/personas/me", { headers: as(uid) })).body);
  if (view.status === "ready") break;
  if (view.status === "failed" || deadline.aborted) throw new Error(`persona not ready: ${view.status} ${view.reason}`);
  await new Promise((r) => setTimeout(r, 50));
}
await workers.stop();

// A chat: one reply streamed to its end, one stopped after its first token.
const chat = await post("/v1/chats", {}, as(uid));
expect("new chat", chat.status, 201);
const chatId = JSON.parse(chat.body).chat_id as string;
const chatPath = `/v1/chats/${chatId}`;
const send = (text: string) =>
  fetch(`${target.url}${chatPath}/messages`, {
    method: "POST",
    headers: { ...as(uid), accept: "text/event-stream" },
    body: JSON.stringify({ text }),
  });
const complete = await sseEvents(await send("How are you?"));
const replyId = complete.find((e) => e.event === "message")?.data.reply_id as string;
if (complete.at(-1)?.event !== "done") throw new Error(`chat turn ended with ${complete.at(-1)?.event}`);

gemini.enqueue({ kind: "text", chunks: ["Well,", " let", " me", " think."], heldBeforeChunk: 1 });
const held = gemini.arrived(gemini.requests.length + 1);
const stopped = sseEvents(await send("Tell me more."));
const [request] = (await held).slice(-1);
const reply = await domains.chats.history(await domains.chats.get(uid, chatId), 10, { direction: "older" });
const generating = reply.items.find((m) => m.status === "generating")!;
expect("stop", (await post(`${chatPath}/messages/${generating.messageId}/stop`, {}, as(uid))).status, 202);
request!.release();
if ((await stopped).find((e) => e.event === "stored")?.data.status !== "interrupted")
  throw new Error("the stopped reply was not interrupted");

// The 4th friend withdraws their answer: two changes since the first round, so no round is published.
const withdrawn = await post(`/v1/surveys/${surveyId}/responses/withdraw`, { receipt: JSON.parse(fourth.body).receipt });
expect("withdrawal", withdrawn.status, 200);

await target.close();
await gemini.close();
process.stdout.write(`${JSON.stringify({ journey: { correlationId, sagaId, chatId, replyId, surveyId } })}\n`);
process.exit(0);
