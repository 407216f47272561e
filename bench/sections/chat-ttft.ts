/**
 * Part of section 6 (issue 18, target 3): what a chat turn costs before its model is asked.
 * The production API (createApi, node:http on a loopback port, request log off) runs in this
 * process with the real Gemini SDK pointed at the fake Gemini server, also here, so both
 * ends read one clock: request arrival at the API (node's `request` event) → the fake server
 * has the model request. Turns are sent one after another (JSON, a two-chunk reply), ten per
 * chat so the history stays short (no summary call). A trace on the process's DynamoDB client
 * (fixtures/dynamo-trace.ts) counts each turn's sequential round trips before the model
 * request and all its DynamoDB requests (the deleted-account check included).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { nodeListener } from "../../backend/api/adapters/node.ts";
import { createApi } from "../../backend/api/index.ts";
import type { Chats } from "../../backend/chats/chats.ts";
import { compose } from "../../backend/compose.ts";
import { loadConfig } from "../../backend/config.ts";
import { dynamoClient } from "../../backend/ports/aws.ts";
import { roundTripsBefore, traceDynamo } from "../../fixtures/dynamo-trace.ts";
import { clock, startFakeGemini } from "../../fixtures/fake-gemini.ts";
import { ascending, median, percentile } from "../lib/stats.ts";

export interface ChatTtft {
  turns: number;
  /** Request arrival → model request received, ms, ascending. */
  overheadMs: number[];
  /** Per turn: sequential DynamoDB round trips before the model request; all DynamoDB requests of the turn. */
  roundTrips: number[];
  requests: number[];
  /** The commands of one (the median) turn before the model request, in the order they began. */
  beforeModel: string[];
  /** Medians, ms: arrival → first DynamoDB request; first request → last answer before the model; that answer → model request received. */
  phases: { toFirstRead: number; dynamo: number; toModel: number };
}

const quiet = { info() {}, warn() {}, error() {} };

/** `turns` chat turns of `uid` (whose persona is ready) through the HTTP API; `env`: the section's table and queues. */
export async function measureChatTtft(env: Record<string, string | undefined>, uid: string, turns = 300): Promise<ChatTtft> {
  const gemini = await startFakeGemini({ apiKey: "bench-key", fallback: { kind: "text", chunks: ["Sunny", " walks."] } });
  const ttftEnv = {
    ...env,
    AUTH_MODE: "local",
    GEMINI_API_KEY: "bench-key",
    GEMINI_BASE_URL: gemini.url,
    CHAT_MESSAGES_PER_MINUTE: "100000",
    CHAT_DAILY_TOKEN_BUDGET: "100000000",
    CHATS_PER_HOUR: "10000",
  };
  const config = loadConfig(ttftEnv);
  const domains = compose(config, {}, ttftEnv);
  const app = createApi(config, { logger: quiet, domains });
  const arrivals = new Map<string, number>();
  const listener = nodeListener(app);
  const server = createServer((req, res) => {
    arrivals.set(String(req.headers["x-request-id"]), clock());
    listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const trace = traceDynamo(dynamoClient());
  const result: ChatTtft = {
    turns,
    overheadMs: [],
    roundTrips: [],
    requests: [],
    beforeModel: [],
    phases: { toFirstRead: 0, dynamo: 0, toModel: 0 },
  };
  const perTurn: { overhead: number; before: string[] }[] = [];
  const phases = { toFirstRead: [] as number[], dynamo: [] as number[], toModel: [] as number[] };
  try {
    let chatId = "";
    for (let i = 0; i < turns; i++) {
      if (i % 10 === 0) chatId = (await (domains.chats as Chats).open(uid)).chatId;
      const requestId = `bench-ttft-${i}-${Date.now()}`;
      const asked = gemini.requests.length;
      const res = await fetch(`${base}/v1/chats/${chatId}/messages`, {
        method: "POST",
        headers: { "x-user-uid": uid, "content-type": "application/json", "x-request-id": requestId },
        body: JSON.stringify({ text: `Turn ${i}: what do you like to do on weekends?` }),
      });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`chat turn ${i}: ${res.status} ${body}`);
      const model = gemini.requests[asked];
      const arrived = arrivals.get(requestId);
      if (!model || arrived === undefined) throw new Error(`chat turn ${i}: no model request seen`);
      const calls = trace.of(requestId);
      const overhead = model.receivedAt - arrived;
      result.overheadMs.push(overhead);
      result.roundTrips.push(roundTripsBefore(calls, model.receivedAt));
      result.requests.push(calls.length);
      const before = calls.filter((c) => c.start < model.receivedAt);
      perTurn.push({ overhead, before: before.map((c) => c.command) });
      if (before.length > 0) {
        const lastAnswer = Math.max(...before.map((c) => c.end));
        phases.toFirstRead.push(before[0]!.start - arrived);
        phases.dynamo.push(lastAnswer - before[0]!.start);
        phases.toModel.push(model.receivedAt - lastAnswer);
      }
      arrivals.delete(requestId);
    }
  } finally {
    trace.clear();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gemini.close();
  }
  ascending(result.overheadMs);
  const mid = median(perTurn.map((t) => t.overhead));
  result.beforeModel = perTurn.find((t) => t.overhead === mid)?.before ?? [];
  result.phases = { toFirstRead: median(phases.toFirstRead), dynamo: median(phases.dynamo), toModel: median(phases.toModel) };
  return result;
}

export const ttftFigures = (m: ChatTtft) => ({
  turns: m.turns,
  beforeModel: m.beforeModel,
  phases: m.phases,
  p50: percentile(m.overheadMs, 50),
  p99: percentile(m.overheadMs, 99),
  roundTrips: median(m.roundTrips),
  maxRoundTrips: Math.max(...m.roundTrips),
  requests: median(m.requests),
});
