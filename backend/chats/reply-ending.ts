/** How a reply's ending is told (its error event, its metrics and log line) and stored when the table is briefly away. */
import { ModelRefusedError } from "../ai/ports.ts";
import { logger } from "../log.ts";
import { DependencyUnavailableError } from "../ports/dependency.ts";
import type { MessageStatus } from "./model.ts";
import type { TurnDeps } from "./turn.ts";

export function errorOf(error: unknown, metrics: TurnDeps["metrics"]): { code: string; message: string } {
  if (error instanceof DependencyUnavailableError) {
    metrics.record("DependencyFailures", 1, { dependency: error.dependency });
    return { code: "service_unavailable", message: DependencyUnavailableError.publicMessage };
  }
  if (error instanceof ModelRefusedError) return { code: "model_refused", message: "The model declined to answer" };
  return { code: "model_unavailable", message: "The model failed while replying; what arrived is kept" };
}

/** One line and the metrics of a reply, however it ended: the slowest first tokens are found from these lines. */
export function observe(
  deps: TurnDeps,
  status: MessageStatus,
  started: number,
  firstTokenMs: number | undefined,
  usage: { inputTokens: number; outputTokens: number },
) {
  const durationMs = Math.round(performance.now() - started);
  if (firstTokenMs !== undefined) deps.metrics.record("ChatFirstToken", Math.round(firstTokenMs));
  deps.metrics.record("ChatReplyDuration", durationMs);
  deps.metrics.record("ChatReplies", 1, { outcome: status });
  logger.info("chat reply", {
    status,
    first_token_ms: firstTokenMs === undefined ? undefined : Math.round(firstTokenMs),
    duration_ms: durationMs,
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
  });
}

/** How long a reply's ending is retried in the background: as long as the chat's reply lock lasts. */
const STORE_RETRY_MS = 5 * 60_000;

/** Retries `store` with backoff while the table is unavailable; gives up on any other error. */
export function storeWhenBack(store: () => Promise<unknown>, delayMs = 1_000, giveUpAt = Date.now() + STORE_RETRY_MS): void {
  setTimeout(() => {
    store().then(
      () => logger.info("reply stored after the table came back", {}),
      (error: Error) => {
        // A failed condition means the ending got through on an attempt we thought lost, or the lock expired.
        if (error instanceof DependencyUnavailableError && Date.now() < giveUpAt)
          storeWhenBack(store, Math.min(delayMs * 2, 30_000), giveUpAt);
        else logger.warn("reply ending not stored", { error: error.name });
      },
    );
  }, delayMs).unref();
}

/** Stores a reply's ending now, or in the background once the table is back (the caller's log context goes along). */
export function releaseWhenBack(store: () => Promise<unknown>): void {
  store().catch(() => storeWhenBack(store));
}
