/**
 * Section 4's worker process: the saga's step handlers fed by the local poller, as
 * `./run.sh` runs them, with at most `BENCH_MAX_IN_FLIGHT` messages of each queue in flight
 * (a Lambda with batch size 1 and that maximum concurrency). Configuration comes from the
 * environment, as in `backend/workers/*`; the sweeper runs every 30 s as in `./run.sh`.
 */
import { compose } from "../../backend/compose.ts";
import { loadConfig } from "../../backend/config.ts";
import { localSaga, startLocalWorkers } from "../../backend/local/workers.ts";

const workers = startLocalWorkers(localSaga(compose(loadConfig())), {
  maxInFlight: Number(process.env.BENCH_MAX_IN_FLIGHT ?? 4),
  sweepIntervalMs: Number(process.env.SWEEP_INTERVAL_MS ?? 30_000),
});
process.once("SIGTERM", () => void workers.stop().finally(() => process.exit(0)));
process.send?.({ type: "started" });
