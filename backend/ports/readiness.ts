/**
 * Readiness: can this process reach what a request needs? The table and both saga queues
 * are probed in parallel, each with its own timeout and no retries, so `/readyz` answers
 * quickly even when a dependency hangs.
 */
import type { Config } from "../config.ts";

/** Loaded on the first probe, not at start-up (the SDK is not part of a cold start). */
const sdk = () => Promise.all([import("@aws-sdk/client-dynamodb"), import("@aws-sdk/client-sqs"), import("./aws.ts")]);

export interface Readiness {
  ready: boolean;
  checks: Record<string, "ok" | "unreachable">;
}

export function readinessProbe(config: Config): () => Promise<Readiness> {
  const probes: Record<string, (signal: AbortSignal) => Promise<unknown>> = {
    table: async (abortSignal) => {
      const [dynamodb, , aws] = await sdk();
      return aws.dynamoClient().send(new dynamodb.DescribeTableCommand({ TableName: config.tableName }), { abortSignal });
    },
  };
  const queues = { synthesis_queue: config.synthesisQueueUrl, image_queue: config.imageQueueUrl };
  for (const [name, url] of Object.entries(queues)) {
    probes[name] = async (abortSignal) => {
      if (url === "") throw new Error(`${name} URL is not configured`);
      const [, sqs, aws] = await sdk();
      return aws.sqsClient().send(new sqs.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }), { abortSignal });
    };
  }
  return async () => {
    const names = Object.keys(probes);
    const results = await Promise.allSettled(names.map((name) => probes[name]!(AbortSignal.timeout(config.readinessTimeoutMs))));
    const checks: Readiness["checks"] = {};
    results.forEach((result, i) => {
      checks[names[i]!] = result.status === "fulfilled" ? "ok" : "unreachable";
    });
    return { ready: results.every((r) => r.status === "fulfilled"), checks };
  };
}
