/**
 * Every route of the API, in one place. Paths are written without the `/api` prefix
 * CloudFront forwards; the router strips it.
 */
import type { Route } from "./framework.ts";
import { route } from "./framework.ts";
import * as health from "./handlers/health.ts";
import type { Readiness } from "../ports/readiness.ts";

export interface RouteDeps {
  readiness: () => Promise<Readiness>;
}

export function routes(deps: RouteDeps): Route[] {
  return [
    route("GET", "/healthz", health.live),
    route("GET", "/readyz", health.ready(deps.readiness)),
  ];
}
