/**
 * Helpers for saga tests: a private table and queues per stack (so no other file's worker
 * takes our messages and no other file's sweep touches our sagas), the production app and
 * local workers on them, and a survey with answers made through HTTP.
 */
import { randomUUID } from "node:crypto";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import type { AppLogger } from "../../backend/api/app.ts";
import type { App } from "../../backend/api/http.ts";
import { createApi } from "../../backend/api/index.ts";
import { compose, type Domains } from "../../backend/compose.ts";
import { loadConfig, type Config } from "../../backend/config.ts";
import { provision } from "../../backend/local/provision.ts";
import { sqsClient } from "../../backend/ports/aws.ts";
import { localSaga, startLocalWorkers } from "../../backend/local/workers.ts";
import { RATING_ITEMS } from "../../backend/surveys/questions.ts";
import { nodeTarget, type Target } from "./targets.ts";

export const quiet = { info() {}, warn() {}, error() {} };

export interface SagaStack {
  config: Config;
  target: Target;
  /** The production app on this stack (the target serves it on a port). */
  app: App;
  /** The stack's own composition: the app and its workers share it. */
  domains: Domains;
  dlqs: { synthesis: string; image: string; lifecycle: string };
  workers?: { stop(): Promise<void> };
  close(): Promise<void>;
}

/**
 * `workers: false` leaves the queues alone, for tests that run steps by hand; `logger` writes
 * the app's request lines (default: none); `env.MEDIA_BUCKET` gives the stack a bucket of its
 * own (for a test that lists the whole bucket).
 */
export async function sagaStack(
  env: Record<string, string> = {},
  options: { workers?: boolean; logger?: AppLogger } = {},
): Promise<SagaStack> {
  const name = `saga-${randomUUID().slice(0, 8)}`;
  const tableName = `remirai-${name}`;
  const mediaBucket = env.MEDIA_BUCKET ?? process.env.MEDIA_BUCKET!;
  const queues = await provision({
    tableName,
    synthesisQueue: `${name}-synthesis`,
    imageQueue: `${name}-image`,
    mediaBucket,
  });
  const fullEnv = {
    ...process.env,
    AUTH_MODE: "local",
    TABLE_NAME: tableName,
    SYNTHESIS_QUEUE_URL: queues.synthesisQueueUrl,
    IMAGE_QUEUE_URL: queues.imageQueueUrl,
    SYNTHESIS_DLQ_URL: queues.synthesisDlqUrl,
    IMAGE_DLQ_URL: queues.imageDlqUrl,
    LIFECYCLE_QUEUE_URL: queues.lifecycleQueueUrl,
    MEDIA_BUCKET: mediaBucket,
    MEDIA_BASE_URL: `${process.env.AWS_ENDPOINT_URL_S3}/${mediaBucket}`,
    PERSONA_EVENTS_POLL_MS: "50",
    GEMINI_API_KEY: "",
    ...env,
  };
  const config = loadConfig(fullEnv);
  const domains = compose(config, {}, fullEnv);
  const app = createApi(config, { logger: options.logger ?? quiet, domains });
  const target = await nodeTarget(app);
  const workers =
    options.workers === false
      ? undefined
      : startLocalWorkers(localSaga(domains), { waitTimeSeconds: 1, retryDelaySeconds: 0, sweepIntervalMs: 3_600_000 });
  return {
    config,
    target,
    app,
    domains,
    dlqs: { synthesis: queues.synthesisDlqUrl, image: queues.imageDlqUrl, lifecycle: queues.lifecycleDlqUrl },
    workers,
    async close() {
      await workers?.stop();
      await target.close();
    },
  };
}

export const as = (uid: string) => ({ "x-user-uid": uid, "content-type": "application/json" });

/** `as(uid)`, asking for the reply as a stream (otherwise a route that can stream answers JSON). */
export const streamingAs = (uid: string) => ({ ...as(uid), accept: "text/event-stream" });

export function friendAnswer(fingerprint: string, text = "Always the first to help.") {
  return {
    fingerprint,
    answers: {
      adjectives: ["kind", "witty", "calm", "brave", "wise"],
      ratings: Object.fromEntries(RATING_ITEMS.map((item, i) => [item.id, ((i * 3) % 7) + 1])),
      texts: { strength: text },
    },
  };
}

/** A new owner with a survey and `answers` friends' answers; returns the owner's uid. */
export async function ownerWithAnswers(target: Target, answers: number): Promise<{ uid: string; surveyId: string }> {
  const uid = `owner-${randomUUID()}`;
  const created = await target.request("/v1/surveys", { method: "POST", headers: as(uid) });
  const surveyId = JSON.parse(created.body).survey_id as string;
  for (let i = 0; i < answers; i++) {
    const res = await target.request(`/v1/surveys/${surveyId}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(friendAnswer(`${uid}-friend-${i}`)),
    });
    if (res.status !== 201) throw new Error(`answer ${i} failed: ${res.status} ${res.body}`);
  }
  return { uid, surveyId };
}

/** A new owner whose persona is ready (the stack's workers must be running). */
export async function ownerWithReadyPersona(target: Target): Promise<{ uid: string; personaId: string }> {
  const { uid } = await ownerWithAnswers(target, 3);
  const started = await target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
  if (started.status !== 202) throw new Error(`saga did not start: ${started.status} ${started.body}`);
  const deadline = AbortSignal.timeout(60_000);
  for (;;) {
    const view = JSON.parse((await target.request("/v1/personas/me", { headers: as(uid) })).body);
    if (view.status === "ready") return { uid, personaId: view.persona_id };
    if (view.status === "failed" || deadline.aborted) throw new Error(`persona not ready: ${view.status} ${view.reason}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The owner's portrait as their client fetches it: a public persona's from its media URL, a
 * private one's through the API's own-portrait route (PUBLIC_BASE_URL names another host in
 * tests, so only the path is kept), with the owner's identity.
 */
export function ownPortrait(target: Target, uid: string, view: { illustration_url: string }): Promise<Response> {
  const url = new URL(view.illustration_url);
  if (!url.pathname.endsWith("/v1/personas/me/portrait")) return fetch(url);
  return fetch(`${target.url}${url.pathname}`, { headers: { "x-user-uid": uid } });
}

/** Server-sent events of a response body, parsed by eventsource-parser. */
export async function sseEvents(res: Response): Promise<{ event: string; id: string | undefined; data: any }[]> {
  const { createParser } = await import("eventsource-parser");
  const events: { event: string; id: string | undefined; data: any }[] = [];
  const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? "message", id: e.id, data: JSON.parse(e.data) }) });
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
  return events;
}

/**
 * The next `expected` messages of a step queue as the Lambda SQS event the workers get (they
 * stay in the queue, invisible, until deleted: a message "lost" by a dead worker). Fails
 * after `timeoutMs` instead of waiting for ever.
 */
export async function receiveSteps(queueUrl: string, expected = 1, timeoutMs = 20_000): Promise<SQSEvent> {
  const deadline = Date.now() + timeoutMs;
  const records: SQSEvent["Records"] = [];
  while (records.length < expected) {
    if (Date.now() > deadline) throw new Error(`${records.length} of ${expected} messages arrived on ${queueUrl} within ${timeoutMs} ms`);
    const { Messages = [] } = await sqsClient().send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["All"] }),
    );
    for (const m of Messages) {
      records.push({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body!,
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1",
          SentTimestamp: "0",
          SenderId: "t",
          ApproximateFirstReceiveTimestamp: "0",
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:test",
        awsRegion: "us-east-1",
      });
    }
  }
  return { Records: records };
}
