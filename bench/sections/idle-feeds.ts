/**
 * Section 7: idle status feeds beside chat streams. 300 users with no persona keep
 * `GET /v1/personas/me/events` open the way a browser's EventSource does (reconnect after the
 * server's `retry:`, 3 s without one, stop on 204), while 300 other users each get a chat
 * reply that the model takes 2 s to write; the same 300 replies without the feeds, first,
 * are the baseline. The API is the production app (bench/servers/ours.ts) on DynamoDB Local
 * and fauxqs, the model the fake Gemini server; the DynamoDB requests the API sends are
 * counted in its process, the feeds' apart (by their requests' ids).
 *
 *   prepare: one ready public persona (offline saga in this process), 600 chats opened
 *   ─> chats alone (300 at once) ─> feeds open, then the same 300 chats ─> feeds until 60 s
 */
import { OfflineImageModel, OfflineLLM } from "../../backend/ai/offline.ts";
import { compose } from "../../backend/compose.ts";
import { loadConfig } from "../../backend/config.ts";
import { exportSecrets, generateSecrets } from "../../backend/local/secrets.ts";
import { RATING_ITEMS, type Answers } from "../../backend/surveys/questions.ts";
import { startFakeGemini } from "../../fixtures/fake-gemini.ts";
import { ofType, startNode, type Child } from "../lib/processes.ts";
import type { SectionResult, SummaryRow } from "../lib/report.ts";
import { localStack } from "../lib/stack.ts";
import { ascending, num, percentile, ratio, sleep, table, verdict } from "../lib/stats.ts";
import { pool } from "../saga/fixtures.ts";

const TITLE = "7. Idle status feeds";
const FEEDS = 300;
const CHATS = 300;
const MODEL_MS = 2000;
/** How long the feeds stay open in all (the chats run in its first seconds). */
const FEED_WINDOW_MS = Number(process.env.BENCH_FEED_SECONDS ?? 60) * 1000;
/** What an EventSource waits before reconnecting when the server named no `retry:`. */
const DEFAULT_RETRY_MS = 3000;
const GEMINI_KEY = "bench-gemini-key";
const TARGET = 1.2;

const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);

/** One EventSource-like client until `until`: requests made, events read. */
async function feed(base: string, uid: string, until: number): Promise<{ requests: number; events: number; ended204: boolean }> {
  let requests = 0;
  let events = 0;
  let lastId: string | undefined;
  while (performance.now() < until) {
    requests += 1;
    let retry = DEFAULT_RETRY_MS;
    // The id marks the feed's requests: the API counts the DynamoDB requests sent for them.
    const headers: Record<string, string> = {
      "x-user-uid": uid,
      accept: "text/event-stream",
      "x-request-id": `bench-feed-${uid}-${requests}`,
    };
    if (lastId) headers["last-event-id"] = lastId;
    const res = await fetch(`${base}/v1/personas/me/events`, {
      headers,
      signal: AbortSignal.timeout(Math.max(1, Math.ceil(until - performance.now()))),
    }).catch(() => undefined);
    if (res?.status === 204) return { requests, events, ended204: true };
    const text = await res?.text().catch(() => "");
    for (const line of (text ?? "").split("\n")) {
      if (line.startsWith("retry: ")) retry = Number(line.slice(7));
      if (line.startsWith("id: ")) lastId = line.slice(4);
      if (line.startsWith("data: ")) events += 1;
    }
    await sleep(Math.min(retry, until - performance.now()));
  }
  return { requests, events, ended204: false };
}

/** One chat reply, streamed: request sent → stream ended. */
async function chatTurn(base: string, uid: string, chatId: string): Promise<{ ok: boolean; ms: number; outcome: string }> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}/v1/chats/${chatId}/messages`, {
      method: "POST",
      headers: { "x-user-uid": uid, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ text: "What do you like to do on weekends?" }),
    });
    const text = await res.text();
    const ok = res.ok && text.includes("event: done");
    const code = /"code":"([a-z_]+)"/.exec(text)?.[1];
    return { ok, ms: performance.now() - t0, outcome: ok ? "done" : `${res.status}${code ? ` ${code}` : ""}` };
  } catch (error) {
    return { ok: false, ms: performance.now() - t0, outcome: (error as Error).name };
  }
}

const p50 = (values: number[]) => percentile(ascending([...values]), 50);
const p99 = (values: number[]) => percentile(ascending([...values]), 99);

export async function idleFeedsSection(): Promise<SectionResult> {
  const stack = await localStack();
  const resources = await stack.provision("feeds");
  const gemini = await startFakeGemini({
    apiKey: GEMINI_KEY,
    fallback: { kind: "text", chunks: ["I like", " long walks", " and quiet", " mornings."], delayMs: MODEL_MS },
  });
  // The same secrets here (this process answers the owner's survey) and in the API.
  const generated = generateSecrets();
  const secrets: Record<string, string> = {};
  exportSecrets(generated, secrets);
  exportSecrets(generated);
  const env: Record<string, string> = {
    ...stack.env,
    ...secrets,
    AUTH_MODE: "local",
    TABLE_NAME: resources.tableName,
    SYNTHESIS_QUEUE_URL: resources.synthesisQueueUrl,
    IMAGE_QUEUE_URL: resources.imageQueueUrl,
    MEDIA_BUCKET: resources.mediaBucket,
    MEDIA_BASE_URL: `${stack.env.AWS_ENDPOINT_URL_S3}/${resources.mediaBucket}`,
    GEMINI_API_KEY: GEMINI_KEY,
    GEMINI_BASE_URL: gemini.url,
    CHAT_MESSAGES_PER_MINUTE: "1000",
    CHAT_DAILY_TOKEN_BUDGET: "100000000",
    BENCH_COUNT_DYNAMODB: "1",
  };
  let api: Child | undefined;
  try {
    // Prepare: one ready, public persona, made in this process with the offline providers.
    const config = loadConfig({
      ...process.env,
      ...env,
      GEMINI_API_KEY: "",
      ANSWERS_PER_IP_PER_HOUR: "0",
      ANSWERS_PER_SURVEY_PER_MINUTE: "0",
    });
    const { surveys, personas, saga } = compose(config, { llm: new OfflineLLM(), images: new OfflineImageModel() });
    const owner = "bench-feeds-owner";
    const answers: Answers = {
      adjectives: ["kind", "witty", "calm", "brave", "wise"],
      ratings: Object.fromEntries(RATING_ITEMS.map((i) => [i.id, 5])) as Answers["ratings"],
      texts: { strength: "Listens like nobody else and remembers everything you said." },
    };
    const { surveyId } = await surveys.open({ uid: owner, name: "Aki" });
    for (const fp of ["f1", "f2", "f3"])
      await surveys.answer(surveyId, { question_set: "v1", fingerprint: fp, answers }, { ip: "198.51.100.1" });
    const { sagaId } = await personas.start(owner);
    const delivery = { receiveCount: 1, maxReceiveCount: 5 };
    await saga.synthesis({ uid: owner, sagaId }, delivery);
    await saga.illustration({ uid: owner, sagaId }, delivery);
    const { personaId } = await personas.setVisibility(owner, true);

    api = startNode("api", "bench/servers/ours.ts", [], { stdout: "null", env });
    const { port } = await api.message(ofType<{ port: number }>("listening"));
    const base = `http://127.0.0.1:${port}`;
    const dynamoCounts = async () => {
      api!.send({ type: "dynamodb" });
      return api!.message(ofType<{ requests: number; feedRequests: number; failures: Record<string, number> }>("dynamodb"));
    };
    const dynamoRequests = async () => (await dynamoCounts()).requests;
    const chatters = users("bench-chat", CHATS);
    const chatIds = await pool(chatters, 16, async (uid) => {
      const res = await fetch(`${base}/v1/chats`, {
        method: "POST",
        headers: { "x-user-uid": uid, "content-type": "application/json" },
        body: JSON.stringify({ persona_id: personaId }),
      });
      return ((await res.json()) as { chat_id: string }).chat_id;
    });
    // Warm-up (JIT in the API and DynamoDB Local): a few turns, thrown away.
    await Promise.all(chatters.slice(0, 20).map((uid, i) => chatTurn(base, uid, chatIds[i]!)));

    // Act 1: the chats alone.
    const d0 = await dynamoRequests();
    const alone = await Promise.all(chatters.map((uid, i) => chatTurn(base, uid, chatIds[i]!)));
    const chatRequests = (await dynamoRequests()) - d0;

    // Act 2: the feeds open, then the same chats; the feeds go on until the window ends.
    const idlers = users("bench-idle-feed", FEEDS);
    const d1 = await dynamoCounts();
    const f0 = performance.now();
    const feeds = Promise.all(idlers.map((uid) => feed(base, uid, f0 + FEED_WINDOW_MS)));
    await sleep(1000);
    const beside = await Promise.all(chatters.map((uid, i) => chatTurn(base, uid, chatIds[i]!)));
    const feedResults = await feeds;
    const feedMinutes = (performance.now() - f0) / 60_000;
    const d2 = await dynamoCounts();
    const failed = Object.entries(d2.failures)
      .map(([what, n]) => `${what} × ${n}`)
      .join(", ");
    const feedRequests = d2.feedRequests - d1.feedRequests;
    const besideRequests = d2.requests - d1.requests - feedRequests;

    // Assess
    const ok = (turns: { ok: boolean; ms: number }[]) => turns.filter((t) => t.ok).map((t) => t.ms);
    const outcomes = (turns: { outcome: string }[]) => {
      const counts = new Map<string, number>();
      for (const t of turns) counts.set(t.outcome, (counts.get(t.outcome) ?? 0) + 1);
      return [...counts].map(([outcome, n]) => `${outcome}: ${n}`).join(", ");
    };
    const aloneMs = ok(alone);
    const besideMs = ok(beside);
    const unfinished = besideMs.length < CHATS || aloneMs.length < CHATS;
    const readsPerFeedMinute = feedRequests / FEEDS / feedMinutes;
    const connectsPerFeedMinute = feedResults.reduce((n, f) => n + f.requests, 0) / FEEDS / feedMinutes;
    const rows = [
      ["chats alone", `${aloneMs.length} / ${CHATS}`, `${num(p50(aloneMs))} ms`, `${num(p99(aloneMs))} ms`, "1.00×"],
      [
        `chats beside ${FEEDS} idle feeds`,
        `${besideMs.length} / ${CHATS}`,
        `${num(p50(besideMs))} ms`,
        `${num(p99(besideMs))} ms`,
        ratio(p50(besideMs), p50(aloneMs)),
      ],
    ];
    const summary: SummaryRow[] = [
      {
        section: TITLE,
        metric: `${CHATS} chat replies (model ${MODEL_MS / 1000} s) beside ${FEEDS} idle feeds, p50`,
        value: `${num(p50(besideMs))} ms (alone ${num(p50(aloneMs))} ms); done ${besideMs.length} / ${CHATS} (alone ${aloneMs.length})`,
        ratio: `${ratio(p50(besideMs), p50(aloneMs))} without feeds`,
        target: `≤ ${TARGET.toFixed(2)}× without feeds, every reply done`,
        // A reply that failed is not in the p50: the verdict says so rather than look better for it.
        verdict: unfinished
          ? `**missed**: ${CHATS - besideMs.length} beside the feeds and ${CHATS - aloneMs.length} alone did not finish`
          : verdict(p50(besideMs) / p50(aloneMs), TARGET, { atMost: true }),
      },
      {
        section: TITLE,
        metric: "DynamoDB requests per idle feed per minute",
        value: num(readsPerFeedMinute, 2),
        ratio: `${num(connectsPerFeedMinute, 2)} connections per feed per minute`,
        target: "(reported)",
        verdict: "",
      },
    ];
    const body = [
      `${FEEDS} users without a persona follow \`GET /v1/personas/me/events\` as a browser's EventSource does (bench/sections/idle-feeds.ts: ` +
        `reconnect after the server's \`retry:\`, ${DEFAULT_RETRY_MS / 1000} s without one, stop on 204) for ${num(FEED_WINDOW_MS / 1000)} s; ` +
        `1 s after they open, ${CHATS} other users each send a chat message (\`Accept: text/event-stream\`) to one public persona, whose ` +
        `replies the fake Gemini server takes ${MODEL_MS / 1000} s to write. Before that, the same ${CHATS} messages without the feeds ` +
        "(after a 20-turn warm-up). Latency is request sent → the reply's stream ended. The API (bench/servers/ours.ts, production routes, " +
        "request log on) counts the DynamoDB requests it sends, those of the feeds' requests apart (each feed request carries an " +
        "`x-request-id` the counter recognises).",
      "",
      table(["chat replies", "done", "p50", "p99", "p50 × alone"], rows),
      "",
      `- Idle feeds: ${num(connectsPerFeedMinute, 2)} connections and ${num(readsPerFeedMinute, 2)} DynamoDB requests per feed per minute ` +
        `(${feedRequests} in all over ${num(feedMinutes * 60, 0)} s); ${feedResults.reduce((n, f) => n + f.events, 0)} events read, ` +
        `${feedResults.filter((f) => f.ended204).length} feeds told 204.`,
      `- A chat turn: ${num(chatRequests / CHATS, 1)} DynamoDB requests alone, ${num(besideRequests / CHATS, 1)} beside the feeds ` +
        `(all but the feeds' requests ÷ ${CHATS}).`,
      `- Outcomes, alone: ${outcomes(alone)}; beside the feeds: ${outcomes(beside)}.`,
      `- DynamoDB requests that failed in the API (all runs): ${failed || "none"}.`,
    ].join("\n");
    return {
      title: TITLE,
      body,
      summary,
      commands: [
        `${api.command}   # production routes, request log on; BENCH_COUNT_DYNAMODB=1; GEMINI_BASE_URL = the fake server`,
        "(the feeds and the chats: fetch() in the benchmark's own process)",
      ],
      misses: unfinished
        ? [
            `**7. Idle status feeds: ${CHATS - besideMs.length} of ${CHATS} replies beside the feeds and ${CHATS - aloneMs.length} alone did ` +
              `not finish** (outcomes alone: ${outcomes(alone)}; beside the feeds: ${outcomes(beside)}). A 503 \`service_unavailable\` is a ` +
              `dependency the API gave up on; the DynamoDB requests that failed: ${failed || "none"}. DynamoDB Local writes through one ` +
              "SQLite database, one writer at a time, so 300 turns beginning together queue their TransactWriteItems behind each other, and those still waiting after " +
              "AWS_REQUEST_TIMEOUT_MS (2 s an attempt) fail on the client side; the turn answers 503 with the user's message kept " +
              '(docs/decisions.md, "A burst of chat turns on DynamoDB Local"). DynamoDB itself runs transactions on different items side by side.',
          ]
        : [],
    };
  } finally {
    await api?.stop();
    await gemini.close();
  }
}
