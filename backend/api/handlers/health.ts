/** Liveness and readiness, for the Lambda Web Adapter, load balancers and `./run.sh`. */
import { respond, type Handler } from "../framework.ts";
import type { Readiness } from "../../ports/readiness.ts";

/** Liveness: the process serves HTTP. Touches no dependency. */
export const live: Handler = () => respond({ status: "ok" });

/** Readiness: 200 when the table and queues answer, else 503 with `Retry-After`. */
export function ready(probe: () => Promise<Readiness>): Handler {
  return async () => {
    const { ready, checks } = await probe();
    return ready
      ? respond({ status: "ready", checks })
      : respond({ status: "unavailable", checks }, { status: 503, headers: { "retry-after": "5" } });
  };
}
