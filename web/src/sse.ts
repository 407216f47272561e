/**
 * Server-Sent Events read with `fetch` (EventSource cannot send `Authorization`), framed by
 * eventsource-parser, the parser the backend's tests use. Shapes of the events' data are
 * api.ts's business; this only frames.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface StreamEnd {
  /** The last `id:` seen, for `Last-Event-ID` on the next connection. */
  lastEventId: string | undefined;
  /** The server's `retry:` advice in milliseconds, if it gave one. */
  retryMs: number | undefined;
}

/** Feeds every event of `res`'s body to `onEvent` until the body ends (or `signal` aborts). */
export async function readEvents(res: Response, onEvent: (event: EventSourceMessage) => void, signal?: AbortSignal): Promise<StreamEnd> {
  const end: StreamEnd = { lastEventId: undefined, retryMs: undefined };
  const parser = createParser({
    onEvent(event) {
      if (event.id !== undefined) end.lastEventId = event.id;
      onEvent(event);
    },
    onRetry(ms) {
      end.retryMs = ms;
    },
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
  return end;
}
