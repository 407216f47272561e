/**
 * A local server that speaks enough of Gemini's REST wire format for the real
 * `@google/genai` SDK: `POST /{version}/models/{model}:generateContent` and
 * `:streamGenerateContent?alt=sse` (one `data: {json}` event per chunk, each flushed),
 * authenticated by the `x-goog-api-key` header.
 *
 * Each call takes the next scripted behaviour (or the fallback), and is recorded with its
 * parsed body, when each chunk was written and how the exchange ended, so tests can assert
 * on what the model "saw" and on timing from both sides. Gates (`held`, `stepwise`,
 * `heldBeforeChunk`) make the server wait for the test's `request.release()`, so a test
 * forces an order of events instead of hoping a delay produces it.
 *
 * @example
 * const gemini = await startFakeGemini();
 * gemini.enqueue({ kind: "error", status: 429, retryDelaySeconds: 1 }, { kind: "text", chunks: ["Hi", "!"] });
 * new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: gemini.url } });
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export type Behaviour = {
  model?: string;
  /** Writes nothing (not even headers) until the test's `request.release()`. */
  held?: boolean;
} & (
  /**
   * Text in chunks `delayMs` apart (unary: one body after the same total time). `holdOpen`
   * keeps a stream open, unfinished, after its last chunk until the client leaves;
   * `heldBeforeChunk: i` waits for the test's `request.release()` before writing chunk i;
   * `stepwise` waits for one `release()` before each chunk after the first.
   */
  | {
    kind: "text"; chunks: string[]; delayMs?: number; finishReason?: string;
    usage?: { input: number; output: number }; holdOpen?: boolean; heldBeforeChunk?: number; stepwise?: boolean;
  }
  /** `delayMs`: the whole answer waits that long (a slow model; the benchmark's 2 s steps). */
  | { kind: "json"; value: unknown; delayMs?: number }
  | { kind: "raw"; text: string }
  | { kind: "image"; bytes: Uint8Array; mimeType: string; delayMs?: number }
  | { kind: "error"; status: number; message?: string; retryDelaySeconds?: number }
  /** Sends `chunks`, then the server destroys the socket. */
  | { kind: "fail-mid-stream"; chunks: string[]; delayMs?: number }
  /** The prompt is blocked: `promptFeedback.blockReason`, no candidates. */
  | { kind: "blocked"; reason: string }
  /** Sends nothing and never ends: for timeouts. */
  | { kind: "hang" }
);

export interface GeminiRequestBody {
  contents?: { role?: string; parts?: { text?: string }[] }[];
  systemInstruction?: { parts?: { text?: string }[] };
  generationConfig?: Record<string, unknown>;
}

export type Outcome = "completed" | "aborted" | "cut";

export interface RecordedRequest {
  method: "generateContent" | "streamGenerateContent";
  apiVersion: string;
  model: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The `x-goog-api-key` header the SDK sent. */
  apiKey: string | undefined;
  body: GeminiRequestBody;
  behaviour: Behaviour["kind"];
  /** Epoch milliseconds with sub-millisecond precision (performance.timeOrigin + now()). */
  receivedAt: number;
  /** When each chunk was written (one entry for a unary response), same clock. */
  sentAt: number[];
  /** Resolves if the client went away before the response ended; never otherwise. */
  aborted: Promise<void>;
  /** Resolves however the exchange ended. */
  settled: Promise<Outcome>;
  /**
   * Lets a gated response take its next step (`held`: start; `heldBeforeChunk`: go on;
   * `stepwise`: write one more chunk). Releases given early are kept, one per step.
   */
  release(): void;
}

export interface FakeGemini {
  /** The base URL to give the SDK (`httpOptions.baseUrl`) or GEMINI_BASE_URL. */
  url: string;
  requests: RecordedRequest[];
  /** Resolves once `count` requests (those `which` accepts, if given) have been received. */
  arrived(count: number, which?: (request: RecordedRequest) => boolean): Promise<RecordedRequest[]>;
  enqueue(...behaviours: Behaviour[]): void;
  close(): Promise<void>;
}

export interface FakeGeminiOptions {
  /** What to do when nothing is queued (for a request to that model). */
  fallback?: Behaviour | ((request: RecordedRequest) => Behaviour);
  /** When set, any other key is refused with 400 INVALID_ARGUMENT as Gemini does. */
  apiKey?: string;
}

const STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
};

export const clock = () => performance.timeOrigin + performance.now();

/** Every text part of the request, system instruction first: what the model was given. */
export function promptText(request: RecordedRequest): string {
  const parts = [...(request.body.systemInstruction?.parts ?? []), ...(request.body.contents ?? []).flatMap((c) => c.parts ?? [])];
  return parts.map((part) => part.text ?? "").join("\n");
}

function errorBody(status: number, message: string, retryDelaySeconds?: number) {
  const details = retryDelaySeconds === undefined ? undefined
    : [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${retryDelaySeconds}s` }];
  return { error: { code: status, message, status: STATUS[status] ?? "UNKNOWN", ...(details ? { details } : {}) } };
}

const candidate = (parts: unknown[], finishReason?: string) => ({ content: { role: "model", parts }, index: 0, ...(finishReason ? { finishReason } : {}) });
const usage = (input: number, output: number) => ({ promptTokenCount: input, candidatesTokenCount: output, totalTokenCount: input + output });

/** The response chunks (a unary reply is their merge) a behaviour stands for. */
function chunksOf(behaviour: Behaviour, request: RecordedRequest): unknown[] {
  const input = promptText(request).split(/\s+/).filter(Boolean).length;
  const reply = (parts: unknown[], finishReason = "STOP", output = 1) =>
    ({ candidates: [candidate(parts, finishReason)], usageMetadata: usage(input, output), modelVersion: request.model });
  switch (behaviour.kind) {
    case "json": return [reply([{ text: JSON.stringify(behaviour.value) }])];
    case "raw": return [reply([{ text: behaviour.text }])];
    case "image": return [reply([{ inlineData: { mimeType: behaviour.mimeType, data: Buffer.from(behaviour.bytes).toString("base64") } }])];
    case "blocked": return [{ promptFeedback: { blockReason: behaviour.reason }, usageMetadata: usage(input, 0) }];
    case "text":
    case "fail-mid-stream": {
      const texts = behaviour.chunks.length ? behaviour.chunks : [""];
      const last = texts.length - 1;
      const done = behaviour.kind === "text" && !behaviour.holdOpen;
      const finishReason = behaviour.kind === "text" ? behaviour.finishReason ?? "STOP" : undefined;
      const totals = behaviour.kind === "text" ? behaviour.usage : undefined;
      return texts.map((text, i) => ({
        candidates: [candidate([{ text }], done && i === last ? finishReason : undefined)],
        usageMetadata: usage(totals?.input ?? input, i === last && totals ? totals.output : i + 1),
        modelVersion: request.model,
      }));
    }
    default: return [];
  }
}

/** A counting gate: each `release()` lets one `take()` through, now or later. */
function gate() {
  let available = 0;
  const waiting: (() => void)[] = [];
  return {
    release: () => (waiting.length > 0 ? waiting.shift()!() : void (available += 1)),
    take: () => (available > 0 ? ((available -= 1), Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve))),
  };
}

export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const requests: RecordedRequest[] = [];
  const watchers: (() => void)[] = [];
  const queue: Behaviour[] = [];
  const fallback = options.fallback ?? { kind: "text", chunks: ["Hello", " from", " the", " fake", " Gemini."] };

  const server = createServer(async (req, res) => {
    // Watched from the start: a client may leave while its body is still being read.
    let cutByServer = false;
    const aborted = Promise.withResolvers<void>();
    const settled = Promise.withResolvers<Outcome>();
    const steps = gate();
    res.on("close", () => {
      const outcome: Outcome = res.writableFinished ? "completed" : cutByServer ? "cut" : "aborted";
      if (outcome === "aborted") aborted.resolve();
      settled.resolve(outcome);
    });

    const url = new URL(req.url ?? "/", "http://fake-gemini");
    const route = /^\/([^/]+)\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(url.pathname);
    const json = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json; charset=UTF-8" }).end(JSON.stringify(value));
    if (req.method !== "POST" || !route) return json(404, errorBody(404, `No route for ${req.method} ${url.pathname}`));
    const apiKey = req.headers["x-goog-api-key"] as string | undefined;
    if (!apiKey) return json(403, errorBody(403, "Method doesn't allow unregistered callers."));
    if (options.apiKey !== undefined && apiKey !== options.apiKey) return json(400, errorBody(400, "API key not valid. Please pass a valid API key."));
    let body: GeminiRequestBody;
    try {
      body = JSON.parse(Buffer.concat(await req.toArray()).toString("utf8") || "{}") as GeminiRequestBody;
    } catch {
      return json(400, errorBody(400, "Invalid JSON payload received."));
    }

    const recorded: RecordedRequest = {
      method: route[3] as RecordedRequest["method"], apiVersion: route[1]!, model: route[2]!, path: url.pathname,
      query: Object.fromEntries(url.searchParams), headers: req.headers, apiKey, body, behaviour: "text",
      receivedAt: clock(), sentAt: [], aborted: aborted.promise, settled: settled.promise, release: steps.release,
    };
    const index = queue.findIndex((b) => b.model === undefined || b.model === recorded.model);
    const behaviour = index >= 0 ? queue.splice(index, 1)[0]! : typeof fallback === "function" ? fallback(recorded) : fallback;
    recorded.behaviour = behaviour.kind;
    requests.push(recorded);
    for (const watcher of [...watchers]) watcher();
    await serve(behaviour, recorded, res, settled.promise, steps.take, () => (cutByServer = true));
  });

  async function serve(
    behaviour: Behaviour, recorded: RecordedRequest, res: ServerResponse,
    settled: Promise<Outcome>, step: () => Promise<void>, markCut: () => void,
  ) {
    // true when the client left before the test let the response go on.
    const waitForRelease = () => Promise.race([step().then(() => false), settled.then(() => true)]);
    if (behaviour.held && (await waitForRelease())) return;
    if (behaviour.kind === "hang") return;
    if (behaviour.kind === "error") {
      const body = errorBody(behaviour.status, behaviour.message ?? `Scripted ${behaviour.status}`, behaviour.retryDelaySeconds);
      res.writeHead(behaviour.status, { "content-type": "application/json; charset=UTF-8" }).end(JSON.stringify(body));
      recorded.sentAt.push(clock());
      return;
    }
    const chunks = chunksOf(behaviour, recorded);
    const pause = "delayMs" in behaviour ? behaviour.delayMs ?? 0 : 0;
    const cut = () => (markCut(), res.socket?.destroy());
    let left = false;
    void settled.then(() => (left = true));
    res.socket?.setNoDelay(true);

    if (recorded.method === "streamGenerateContent") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0 && pause > 0) await Promise.race([delay(pause), settled]);
        const gated = behaviour.kind === "text" && (behaviour.heldBeforeChunk === i || (behaviour.stepwise === true && i > 0));
        if (gated && (await waitForRelease())) return;
        if (left) return;
        recorded.sentAt.push(clock());
        // Waiting for the flush keeps order with a cut that follows (destroy drops queued bytes).
        await new Promise((resolve) => res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`, resolve));
      }
      if (behaviour.kind === "fail-mid-stream") cut();
      else if (behaviour.kind !== "text" || !behaviour.holdOpen) res.end();
      return;
    }

    // Unary: one body, the chunks merged (text joined), after the time the stream would take
    // (a json or image answer is one chunk: it waits `delayMs` itself).
    const wait = behaviour.kind === "json" || behaviour.kind === "image" ? pause : pause * Math.max(0, chunks.length - 1);
    if (wait > 0) await Promise.race([delay(wait), settled]);
    if (left) return;
    const merged = chunks.at(-1) as { candidates?: { content: { parts: unknown[] } }[] } | undefined;
    if (merged?.candidates && (behaviour.kind === "text" || behaviour.kind === "fail-mid-stream")) {
      merged.candidates[0]!.content.parts = [{ text: behaviour.chunks.join("") }];
    }
    const text = JSON.stringify(merged);
    if (behaviour.kind === "fail-mid-stream") {
      res.writeHead(200, { "content-type": "application/json; charset=UTF-8", "content-length": String(Buffer.byteLength(text)) });
      recorded.sentAt.push(clock());
      await new Promise((resolve) => res.write(text.slice(0, Math.floor(text.length / 2)), resolve));
      return cut();
    }
    res.writeHead(200, { "content-type": "application/json; charset=UTF-8" }).end(text);
    recorded.sentAt.push(clock());
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    arrived: (count, which = () => true) => new Promise((resolve) => {
      const check = () => {
        const matching = requests.filter(which);
        if (matching.length < count) return false;
        watchers.splice(watchers.indexOf(check), 1);
        resolve(matching);
        return true;
      };
      watchers.push(check);
      check();
    }),
    enqueue: (...behaviours) => void queue.push(...behaviours),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A persona card as the model returns it in step 1 (a valid one), and a tiny PNG for step 2. */
export const PERSONA_CARD = {
  name: "Aki",
  tagline: "Quietly brave",
  personality: "Calm under pressure and generous with time.",
  speaking_style: "Short sentences, dry humour.",
  greeting: "Hey. What's up?",
  interests: ["climbing", "tea"],
  visual_description: "Short dark hair, green scarf, soft smile.",
  system_prompt: "You are Aki.",
};
export const PORTRAIT_PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

/** A one-turn chat for provider tests. */
export const chat = { system: "You are Mika, a warm friend.", turns: [{ role: "user" as const, text: "How was your day?" }] };

/** Every chunk of a text stream, in order. */
export async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const texts: string[] = [];
  for await (const text of stream) texts.push(text);
  return texts;
}
