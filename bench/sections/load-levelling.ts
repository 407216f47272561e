/**
 * Section 4: load levelling. 500 owners, each with a survey and three friends' answers made
 * beforehand, start their persona saga within 2 seconds. The model (the fake Gemini server,
 * through the real SDK) takes 2 s per step, and the workers are capped at 4 messages in
 * flight per queue. The API must stay as fast as at idle while the queue absorbs the spike;
 * the backlog drains at the capped rate, and no saga is lost or failed.
 *
 *   processes: DynamoDB Local (JVM) · fauxqs · API (bench/servers/ours.ts, production routes,
 *   request log on) · workers (bench/saga/workers.ts) · this process (load, fake Gemini, sampler)
 *
 *   prepare 600 owners ─> warm-up burst (idle owners) ─> idle baseline ─> workers start
 *   ─> burst (500 in 2 s) ─> probe while draining ─> drained? check every persona ─> profiled burst
 */
import { join } from "node:path";
import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { exportSecrets, generateSecrets } from "../../backend/local/secrets.ts";
import { Table } from "../../backend/data/table.ts";
import type { Persona } from "../../backend/personas/model.ts";
import { personaStore } from "../../backend/personas/store.ts";
import { failSaga } from "../../backend/personas/saga.ts";
import { sqsClient } from "../../backend/ports/aws.ts";
import { cpuMsOf, ofType, startNode, type Child } from "../lib/processes.ts";
import { PROFILE_DIR, profileWindow } from "../lib/profile.ts";
import type { SectionResult } from "../lib/report.ts";
import { localStack } from "../lib/stack.ts";
import { num, sleep } from "../lib/stats.ts";
import { friendAnswer, pool, slowModel, timed, type Timed } from "../saga/fixtures.ts";
import { depth, idleQueues, readWorkerLog, sampleQueues } from "../saga/observe.ts";
import { levellingReport, TITLE } from "../saga/report.ts";

const USERS = Number(process.env.BENCH_USERS ?? 500);
const BURST_MS = 2000;
const MODEL_MS = 2000;
const IN_FLIGHT = 4;
const IDLE_SAMPLES = 100;
/** Starts measured while the backlog drains (by idle owners), from this long after the burst began. */
const DRAIN_SAMPLES = 50;
const DRAIN_PROBE_AFTER_MS = 20_000;
const SAMPLE_MS = 1000;
const DRAIN_DEADLINE_MS = Number(process.env.BENCH_DRAIN_DEADLINE_SECONDS ?? 420) * 1000;
const GEMINI_KEY = "bench-gemini-key";

const owners = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);

export async function loadLevellingSection(): Promise<SectionResult> {
  const stack = await localStack();
  const resources = await stack.provision("levelling");
  const gemini = await slowModel(GEMINI_KEY, MODEL_MS);
  const secrets: Record<string, string> = {};
  exportSecrets(generateSecrets(), secrets);
  const env: Record<string, string> = {
    ...stack.env,
    ...secrets,
    AUTH_MODE: "local",
    TABLE_NAME: resources.tableName,
    SYNTHESIS_QUEUE_URL: resources.synthesisQueueUrl,
    IMAGE_QUEUE_URL: resources.imageQueueUrl,
    SYNTHESIS_DLQ_URL: resources.synthesisDlqUrl,
    IMAGE_DLQ_URL: resources.imageDlqUrl,
    MEDIA_BUCKET: resources.mediaBucket,
    MEDIA_BASE_URL: `${stack.env.AWS_ENDPOINT_URL_S3}/${resources.mediaBucket}`,
    GEMINI_API_KEY: GEMINI_KEY,
    GEMINI_BASE_URL: gemini.url,
    ANSWERS_PER_IP_PER_HOUR: "0",
    ANSWERS_PER_SURVEY_PER_MINUTE: "0",
    // Idle owners start three times (warm-up, baseline, while draining): never a limit here.
    PERSONA_STARTS_PER_DAY: "0",
    BENCH_MAX_IN_FLIGHT: String(IN_FLIGHT),
  };
  const commands: string[] = [];
  let api: Child | undefined;
  let workers: Child | undefined;
  try {
    api = startNode("api", "bench/servers/ours.ts", [], { stdout: "null", env });
    commands.push(`${api.command}   # production routes, request log on; the local stack's endpoints; GEMINI_BASE_URL = the fake server`);
    const { port } = await api.message(ofType<{ port: number }>("listening"));
    const base = `http://127.0.0.1:${port}`;
    const start = (uid: string) => timed(`${base}/v1/personas/me`, { method: "POST", headers: { "x-user-uid": uid } });
    /** Every owner starts at `i × (burst / users)` after the call, open loop: nobody waits for anybody. */
    const burstOf = (uids: string[]) => {
      const t0 = performance.now();
      return Promise.all(
        uids.map(async (uid, i) => {
          await sleep(Math.max(0, t0 + (i * BURST_MS) / USERS - performance.now()));
          return start(uid);
        }),
      );
    };

    // Prepare: every owner gets a survey and three friends' answers, through the API.
    const p0 = performance.now();
    const uids = owners("bench-owner", USERS);
    const idleUids = owners("bench-idle", IDLE_SAMPLES);
    const prepared = await pool([...uids, ...idleUids], 16, async (uid) => {
      const created = await fetch(`${base}/v1/surveys`, { method: "POST", headers: { "x-user-uid": uid } });
      const { survey_id } = (await created.json()) as { survey_id: string };
      let ok = created.ok;
      for (let f = 0; f < 3; f++) {
        const body = JSON.stringify(friendAnswer(`${uid}-friend-${f}`));
        const res = await fetch(`${base}/v1/surveys/${survey_id}/responses`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await res.arrayBuffer();
        ok &&= res.status === 201;
      }
      return ok;
    });
    const prepareSeconds = (performance.now() - p0) / 1000;
    console.log(
      `  prepared ${prepared.filter(Boolean).length}/${USERS + IDLE_SAMPLES} owners with 3 answers in ${num(prepareSeconds, 1)} s`,
    );

    // Before any worker runs: a warm-up burst by the idle owners (JIT in the API and in
    // DynamoDB Local), then the same owners one at a time: the idle baseline. Their sagas are
    // withdrawn each time (queue purged, sagas failed) so no worker or sweeper ever sees them.
    const withdraw = async () => {
      await sqsClient().send(new PurgeQueueCommand({ QueueUrl: resources.synthesisQueueUrl }));
      await pool(idleUids, 8, async (uid) => {
        const persona = await personaStore(new Table(resources.tableName)).find(uid);
        if (persona?.status === "synthesizing")
          await failSaga(personaStore(new Table(resources.tableName)), persona, "synthesis", "benchmark warm-up");
      });
    };
    await burstOf(idleUids);
    await withdraw();
    await sleep(500);
    const idle: Timed[] = [];
    for (const uid of idleUids) {
      idle.push(await start(uid));
      await sleep(10);
    }
    await withdraw();

    workers = startNode("workers", "bench/saga/workers.ts", [], { stdout: "pipe", env });
    commands.push(`${workers.command}   # with BENCH_MAX_IN_FLIGHT=${IN_FLIGHT}`);
    await workers.message(ofType("started"));
    await sleep(3000); // its start-up is not part of the burst

    // The burst, with the CPU every process spends on it.
    const pids = [api.pid, workers.pid, stack.pids.dynamodb, stack.pids.fauxqs];
    const cpu0 = await Promise.all(pids.map(cpuMsOf));
    const self0 = process.cpuUsage();
    const burstStart = performance.now();
    const burstStartWall = Date.now();
    const sampler = sampleQueues({ synthesis: resources.synthesisQueueUrl, image: resources.imageQueueUrl }, burstStart, SAMPLE_MS);
    const burst = await burstOf(uids);
    const burstSeconds = (performance.now() - burstStart) / 1000;
    const cpu1 = await Promise.all(pids.map(cpuMsOf));
    const self1 = process.cpuUsage(self0);
    const used = (i: number) => (cpu1[i] ?? NaN) - (cpu0[i] ?? NaN);
    console.log(`  burst: ${burst.filter((r) => r.status === 202).length}/${USERS} accepted in ${num(burstSeconds, 2)} s`);

    // The same call while the backlog drains: idle owners start once more, one at a time
    // (their sagas queue behind the burst's and are checked like them).
    await sleep(Math.max(0, DRAIN_PROBE_AFTER_MS - (performance.now() - burstStart)));
    const drainProbeAt = (performance.now() - burstStart) / 1000;
    const draining: Timed[] = [];
    for (const uid of idleUids.slice(0, DRAIN_SAMPLES)) {
      draining.push(await start(uid));
      await sleep(10);
    }
    const extraUids = idleUids.slice(0, DRAIN_SAMPLES).filter((_, i) => draining[i]!.status === 202);

    // Once both queues are empty, every owner's persona must be ready (or failed: reported).
    let personas: (Persona | undefined)[] = [];
    let extras: (Persona | undefined)[] = [];
    const settled = (p: Persona | undefined) => p !== undefined && (p.status === "ready" || p.status === "failed");
    const check = async () => {
      personas = await pool(uids, 16, (uid) => personaStore(new Table(resources.tableName)).find(uid));
      extras = await pool(extraUids, 16, (uid) => personaStore(new Table(resources.tableName)).find(uid));
      return personas.every(settled) && extras.every(settled);
    };
    let done = false;
    while (!done && performance.now() - burstStart < DRAIN_DEADLINE_MS) {
      await sleep(2000);
      const last = sampler.samples.at(-1);
      if (last && last.t > burstSeconds && idleQueues(last)) done = await check();
    }
    await sampler.stop();
    if (!done) await check();
    const [[dlqSynthesis], [dlqImage]] = await Promise.all([depth(resources.synthesisDlqUrl), depth(resources.imageDlqUrl)]);
    console.log(
      `  drained: ${personas.filter((p) => p?.status === "ready").length} ready, ${personas.filter((p) => p?.status === "failed").length} failed`,
    );

    // Counted now: the profiled burst below starts sagas the workers begin on too.
    const modelCalls = {
      text: gemini.requests.filter((r) => !r.model.includes("image")).length,
      image: gemini.requests.filter((r) => r.model.includes("image")).length,
    };
    const workerLog = readWorkerLog(workers.stdout());

    // Where the API's time goes in a burst: the idle owners start once more at the burst's
    // rate under the V8 profiler (kept out of the measured burst: profiling costs CPU).
    const profiling = await profileWindow(api, join(PROFILE_DIR, "api-burst.cpuprofile"));
    await burstOf(idleUids);
    const profile = await profiling.stop();

    const report = levellingReport({
      users: USERS,
      burstMs: BURST_MS,
      modelMs: MODEL_MS,
      inFlight: IN_FLIGHT,
      sampleMs: SAMPLE_MS,
      prepareSeconds,
      idle,
      burst,
      burstSeconds,
      burstStartWall,
      draining,
      drainProbeAt,
      samples: sampler.samples,
      personas,
      extras,
      dlq: { synthesis: dlqSynthesis, image: dlqImage },
      cpuMs: { api: used(0), workers: used(1), dynamodb: used(2), fauxqs: used(3), self: (self1.user + self1.system) / 1000 },
      profile,
      workerLog,
      modelCalls,
    });
    return { title: TITLE, ...report, commands };
  } finally {
    await workers?.stop("SIGTERM", 10_000);
    await api?.stop();
    await gemini.close();
  }
}
