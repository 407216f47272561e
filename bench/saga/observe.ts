/** Section 4's view of the saga from outside: queue depths over time and what the workers logged. */
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { sqsClient } from "../../backend/ports/aws.ts";
import { sleep } from "../lib/stats.ts";

export interface Sample {
  /** Seconds since the burst started. */
  t: number;
  synthesisWaiting: number;
  synthesisInFlight: number;
  imageWaiting: number;
  imageInFlight: number;
}

/** Messages waiting and in flight (received, not yet deleted) on a queue. */
export async function depth(queueUrl: string): Promise<[number, number]> {
  const { Attributes = {} } = await sqsClient().send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return [Number(Attributes.ApproximateNumberOfMessages ?? 0), Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)];
}

/** Samples both queues every `everyMs` from `t0` (performance.now()) until `stop()`. */
export function sampleQueues(queues: { synthesis: string; image: string }, t0: number, everyMs: number) {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = (performance.now() - t0) / 1000;
      try {
        const [[sw, sf], [iw, inf]] = await Promise.all([depth(queues.synthesis), depth(queues.image)]);
        samples.push({ t, synthesisWaiting: sw, synthesisInFlight: sf, imageWaiting: iw, imageInFlight: inf });
      } catch {
        // a missed sample is just a gap
      }
      await sleep(everyMs - ((performance.now() - t0) % everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

export const queued = (s: Sample) => s.synthesisWaiting + s.synthesisInFlight;
export const idleQueues = (s: Sample) => queued(s) + s.imageWaiting + s.imageInFlight === 0;

export interface WorkerLog {
  /** Step messages that did their step. */
  done: number;
  /** Step messages acknowledged without doing anything (duplicate or stale). */
  skipped: number;
  /** Messages the sweeper re-sent, overdue steps it postponed (their queue had a backlog), and sagas it failed. */
  redriven: number;
  postponed: number;
  sweptFailed: number;
  /** Model calls the workers retried, by what failed ("network error", "HTTP 503", …). */
  modelRetries: Record<string, number>;
}

/** Reads the workers' JSON log lines ("saga step", "sweep"). */
export function readWorkerLog(stdout: string): WorkerLog {
  const log: WorkerLog = { done: 0, skipped: 0, redriven: 0, postponed: 0, sweptFailed: 0, modelRetries: {} };
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as {
        message?: string;
        outcome?: string;
        redriven?: number;
        postponed?: number;
        failed?: number;
        failure?: string;
      };
      if (entry.message === "saga step") log[entry.outcome === "done" ? "done" : "skipped"]++;
      if (entry.message === "Model call failed, retrying") {
        const failure = entry.failure ?? "unknown";
        log.modelRetries[failure] = (log.modelRetries[failure] ?? 0) + 1;
      }
      if (entry.message === "sweep") {
        log.redriven += entry.redriven ?? 0;
        log.postponed += entry.postponed ?? 0;
        log.sweptFailed += entry.failed ?? 0;
      }
    } catch {
      // not a log line
    }
  }
  return log;
}
