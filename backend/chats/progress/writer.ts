/**
 * A generating reply's copy in the table, for readers in other processes (follow.ts): off
 * until someone needs it (the reply's client left, or a reader elsewhere follows), then the
 * chunks not yet written at most every CHAT_PROGRESS_INTERVAL_MS, and a heartbeat item at
 * least every third of CHAT_LEASE_MS, each renewing the reply's lease (store.ts). A failed
 * write is retried with the next one; none starts once the model is done.
 */
import { logger } from "../../log.ts";
import type { ProgressStore } from "./store.ts";

export interface ProgressSettings {
  progress: ProgressStore;
  leaseMs: number;
  progressIntervalMs: number;
}

export class ProgressWriter {
  private readonly chunks: string[] = [];
  /** Chunks and text length already in progress items, and the last item's sequence. */
  private persistedCount = 0;
  private persistedEnd = 0;
  private seq = 0;
  private lastWriteAt = 0;
  private writes: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Whether the table is being kept up to date. */
  on = false;

  constructor(
    private readonly settings: ProgressSettings,
    private readonly reply: { chatId: string; replyId: string; alternate: number },
  ) {}

  /** The reply's next chunk; written with the next write that is due, once on. */
  add(chunk: string): void {
    this.chunks.push(chunk);
    if (this.on) this.flushIfDue();
  }

  /** From now on, keep the table up to date for readers (idempotent; nothing once closed). */
  start(): void {
    if (this.on || this.closed) return;
    this.on = true;
    this.flush();
    const every = Math.max(1, Math.min(this.settings.progressIntervalMs, Math.floor(this.settings.leaseMs / 3)));
    this.timer = setInterval(() => this.flushIfDue(), every).unref();
  }

  /** The model is done: no write starts any more. Resolves once those started have ended. */
  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    return this.writes;
  }

  private flushIfDue(): void {
    const since = Date.now() - this.lastWriteAt;
    const fresh = this.chunks.length > this.persistedCount;
    if ((fresh && since >= this.settings.progressIntervalMs) || since >= this.settings.leaseMs / 3) this.flush();
  }

  /** Writes the chunks not yet persisted (or none: a heartbeat). */
  private flush(): void {
    this.lastWriteAt = Date.now();
    const { chatId, replyId, alternate } = this.reply;
    this.writes = this.writes.then(async () => {
      const upTo = this.chunks.length;
      const chunks = this.chunks.slice(this.persistedCount, upTo);
      const end = this.persistedEnd + chunks.reduce((n, c) => n + c.length, 0);
      const item = { seq: this.seq + 1, chunks, end, leaseUntil: Date.now() + this.settings.leaseMs };
      try {
        await this.settings.progress.write(chatId, replyId, alternate, item);
        this.seq = item.seq;
        this.persistedCount = upTo;
        this.persistedEnd = end;
      } catch (error) {
        logger.warn("reply progress not persisted", { error: (error as Error).name });
      }
    });
  }
}
