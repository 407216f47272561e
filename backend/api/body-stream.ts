/**
 * A streamed body that is not Server-Sent Events: a large document (the account export)
 * written chunk by chunk as it is read, so it never sits in memory whole. Headers leave at
 * once; the producer stops when the client leaves. A failure after the first chunk can no
 * longer become an error reply: the body ends early (a JSON document then does not parse,
 * which is how a client tells) and the app logs the failure.
 *
 * @example return streamBody(exportChunks, { "content-type": "application/json; charset=utf-8" });
 */
import { ClientClosedRequest } from "./errors.ts";
import type { ResponseHeaders, StreamReply } from "./http.ts";

export function streamBody(
  chunks: AsyncIterable<string> | ((clientGone: AbortSignal) => AsyncIterable<string>),
  headers: ResponseHeaders,
  status = 200,
): StreamReply {
  return {
    kind: "stream",
    status,
    headers: { "cache-control": "no-store", ...headers },
    async run(write, { signal }) {
      // Leaving the loop (the client left, a write failed) closes the producer too; a
      // producer given the signal can also stop waiting on its own work.
      for await (const chunk of typeof chunks === "function" ? chunks(signal) : chunks) {
        if (signal.aborted) throw new ClientClosedRequest();
        await write(chunk);
      }
    },
  };
}
