/**
 * Child-process entry that runs fauxqs (SQS + S3 emulator) on 127.0.0.1 only. Queues live
 * in memory; S3 objects too, unless FAUXQS_S3_DIR names a directory to keep them in (the
 * local stack does, so portraits survive a restart the way they would in S3).
 * Started by `startFauxqs()` in services.ts; prints `{"port":N}` once it listens.
 *
 * Env: FAUXQS_PORT (0 picks a free port), FAUXQS_S3_DIR (optional).
 */
import { Server } from "node:net";
import { startFauxqs } from "fauxqs";

const port = Number(process.env.FAUXQS_PORT ?? "0");

// fauxqs 2.4 hard-codes `app.listen({ host: "0.0.0.0" })`, which would expose the local
// queues and bucket to the network. Only while it starts, turn that host into loopback.
const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  const [options] = args;
  if (options && typeof options === "object" && (options as { host?: unknown }).host === "0.0.0.0") {
    args[0] = { ...options, host: "127.0.0.1" };
  }
  return Reflect.apply(listen, this, args) as Server;
} as typeof listen;
const s3StorageDir = process.env.FAUXQS_S3_DIR || undefined;
const fauxqs = await startFauxqs({ port, logger: false, s3StorageDir }).finally(() => {
  Server.prototype.listen = listen;
});

const stop = () => void fauxqs.stop().finally(() => process.exit(0));
process.on("SIGTERM", stop);
// The parent decides the shutdown order; a terminal Ctrl-C reaches the whole process
// group, so ignore it here and wait for the parent's SIGTERM (or its disappearance).
process.on("SIGINT", () => {});
// When the parent dies without stopping us (even by SIGKILL), our stdin pipe closes.
process.stdin.on("end", stop).resume();

process.stdout.write(`${JSON.stringify({ port: fauxqs.port, address: fauxqs.address })}\n`);
