/**
 * Watches a generating reply's stop flag in the table (set by a stop another process
 * handled). Every `pollMs` the flag is read beside the stream, on a timer, so no token waits
 * for the table: a read in a token's way held that token for a round trip every `pollMs`,
 * which was the tail of `npm run chat-latency`. A token waits only when the newest answer is
 * older than two periods (the table is slow or away), so what a token is handed out on is
 * never staler than that; `pollMs` 0 reads before every token, in its way, as a test wants.
 * A read that fails ends the reply at the next token, as the error it is.
 */
export interface StopWatch {
  /** Before each token: resolves once handing it out is allowed; rejects with a failed read. */
  beforeToken(): Promise<void> | undefined;
  /** The reply ended: no more reads. */
  close(): void;
}

export function watchStop(pollMs: number, read: () => Promise<boolean>, stop: () => void): StopWatch {
  let answeredAt = Date.now(); // the stream just began: nothing to be stopped yet
  let inFlight: Promise<void> | undefined;
  let failed: { error: unknown } | undefined;
  const check = (): Promise<void> => {
    const startedAt = Date.now();
    inFlight ??= read().then(
      (stopped) => {
        inFlight = undefined;
        answeredAt = startedAt;
        if (stopped) stop();
      },
      (error: unknown) => {
        inFlight = undefined;
        failed = { error };
      },
    );
    return inFlight;
  };
  const timer = pollMs > 0 ? setInterval(() => void check(), pollMs) : undefined;
  timer?.unref();
  return {
    beforeToken() {
      if (failed) return Promise.reject(failed.error);
      if (pollMs > 0 && Date.now() - answeredAt <= 2 * pollMs) return undefined;
      return check().then(() => {
        if (failed) throw failed.error;
      });
    },
    close: () => clearInterval(timer),
  };
}
