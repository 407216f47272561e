/**
 * DynamoDB Local (in memory) and fauxqs, started once for the sections that need them
 * (4 and 6) and stopped by bench/run.ts at the end. Each section provisions its own table,
 * queues and bucket on them.
 */
import { provision, type ProvisionedResources } from "../../backend/local/provision.ts";
import { freePort, localAwsEnv, startDynamoDbLocal, startFauxqs } from "../../backend/local/services.ts";

export interface LocalStack {
  /** Environment a process needs to reach the services (endpoints, region, dummy credentials). */
  env: Record<string, string>;
  /** Process ids of DynamoDB Local (the JVM) and fauxqs, for CPU accounting. */
  pids: { dynamodb: number; fauxqs: number };
  provision(name: string): Promise<ProvisionedResources & { tableName: string; mediaBucket: string }>;
}

let started: Promise<LocalStack> | undefined;

export function localStack(): Promise<LocalStack> {
  return (started ??= (async () => {
    const [dynamodb, fauxqs] = await Promise.all([freePort().then((port) => startDynamoDbLocal({ port })), startFauxqs({ port: 0 })]);
    const env = localAwsEnv(dynamodb, fauxqs);
    // This process's own SDK clients (provisioning, section 6's measurements) read these.
    Object.assign(process.env, env);
    return {
      env,
      pids: { dynamodb: dynamodb.pid, fauxqs: fauxqs.pid },
      async provision(name) {
        const tableName = `bench-${name}`;
        const mediaBucket = `bench-${name}-media`;
        const queues = await provision({
          tableName,
          synthesisQueue: `bench-${name}-synthesis`,
          imageQueue: `bench-${name}-image`,
          mediaBucket,
        });
        return { ...queues, tableName, mediaBucket };
      },
    };
  })());
}
