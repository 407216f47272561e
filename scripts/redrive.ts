/**
 * Moves the saga's dead-letter messages back to their queues (`npm run redrive`). A saga
 * that failed at a step resumes from that step when its message comes back.
 *
 * Queue URLs come from SYNTHESIS_QUEUE_URL / SYNTHESIS_DLQ_URL / IMAGE_QUEUE_URL /
 * IMAGE_DLQ_URL (and the SDK's own AWS_* settings). With `--local` (against `./run.sh`),
 * whatever is unset is read from the `$DATA_DIR/local-env.json` the local stack writes —
 * only then, so a stray local file never points a run meant for AWS at local endpoints.
 *
 *   npm run redrive -- --local
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { redrive } from "../backend/ports/queue.ts";

const localEnv = join(process.env.DATA_DIR || ".data", "local-env.json");
if (process.argv.includes("--local")) {
  if (!existsSync(localEnv)) throw new Error(`${localEnv} not found: is ./run.sh running (or DATA_DIR set)?`);
  for (const [name, value] of Object.entries(JSON.parse(readFileSync(localEnv, "utf8")) as Record<string, string>)) {
    process.env[name] ||= value;
  }
  // The local services accept any credentials; the SDK only needs some to sign with.
  process.env.AWS_ACCESS_KEY_ID ||= "local";
  process.env.AWS_SECRET_ACCESS_KEY ||= "local";
}

const pairs = [
  ["synthesis", process.env.SYNTHESIS_DLQ_URL, process.env.SYNTHESIS_QUEUE_URL],
  ["image", process.env.IMAGE_DLQ_URL, process.env.IMAGE_QUEUE_URL],
] as const;

for (const [name, dlq, queue] of pairs) {
  if (!dlq || !queue) throw new Error(`${name}: set ${name.toUpperCase()}_DLQ_URL and ${name.toUpperCase()}_QUEUE_URL (or start ./run.sh)`);
  console.log(`${name}: moved ${await redrive(dlq, queue)} message(s) from the DLQ back to the queue`);
}
