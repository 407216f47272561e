/**
 * Where the contract check (support/contract.ts) hooks into what the tests receive: every
 * `fetch` of this process to a watched origin, and the chunks of the socketless targets.
 */
import { type ContractMode, contract, eventChecker, type ResponseCheck } from "./contract.ts";

const watched = new Map<string, ContractMode>();
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Checks every `fetch` of this process to `baseUrl`'s origin from now on; the returned
 * function stops it (call it when the server closes: its port may serve something else next).
 * @example const unwatch = watch(server.url); … unwatch();
 */
export function watch(baseUrl: string, mode: ContractMode = "api"): () => void {
  const { origin } = new URL(baseUrl);
  watched.set(origin, mode);
  installFetchCheck();
  return () => {
    if (watched.get(origin) === mode) watched.delete(origin);
  };
}

let installed = false;

function installFetchCheck(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch;
  globalThis.fetch = async function checkedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const response = await original(input, init);
    const mode = watched.get(url.origin);
    if (!mode) return response;
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    const check = contract().begin(
      { method, path: url.pathname + url.search, status: response.status, headers: Object.fromEntries(response.headers) },
      mode,
    );
    if (!check) return response;
    let body: ReadableStream<Uint8Array> | ArrayBuffer | string | null;
    if (check.bytes) {
      body = await response.arrayBuffer();
    } else if (check.streaming && response.body) {
      const decoder = new TextDecoder();
      const feed = eventChecker(check);
      body = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            feed(decoder.decode(chunk, { stream: true }));
            controller.enqueue(chunk);
          },
        }),
      );
    } else {
      const text = await response.text();
      check.body(text);
      body = text;
    }
    const checked = new Response(NULL_BODY.has(response.status) ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    Object.defineProperty(checked, "url", { value: response.url });
    return checked;
  } as typeof fetch;
}

/** The chunks of a response, checked as they pass: each event of a stream, else the whole body at the end. */
export async function* checkedChunks(check: ResponseCheck | undefined, chunks: AsyncIterable<string>): AsyncIterable<string> {
  if (!check) return yield* chunks;
  const feed = check.streaming ? eventChecker(check) : undefined;
  let text = "";
  for await (const chunk of chunks) {
    if (feed) feed(chunk);
    else text += chunk;
    yield chunk;
  }
  if (!feed) check.body(text);
}
