/**
 * Every route handler, by group. `health` is built at start-up (liveness must not wait for
 * the domains); every other group is loaded by its first request: its module and the
 * contract's schemas, and, with the first request of any group, the domains (compose.ts) and
 * the one way to learn the caller. A cold start then pays for config, the HTTP core and the
 * route table only (docs/decisions.md, "Performance round two (issue 18)").
 *
 *   GET /v1/me ─► auth.me (stand-in) ─► first time: import("./auth.ts") + domains() + callers ─► the real handler
 *                                        after that: the real handler, called directly (a reply returned at once stays synchronous)
 */
import type { Domains } from "../../compose.ts";
import type { Config } from "../../config.ts";
import { readinessProbe } from "../../ports/readiness.ts";
import type { Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import * as health from "./health.ts";
import { linksFor, type Links } from "./links.ts";
import { document } from "./openapi.ts";

interface Shared {
  domains: Domains;
  callers: Callers;
  links: Links;
}

/** Each group's module, imported by name so the bundle splits it into a chunk of its own. */
const GROUPS = {
  auth: () => import("./auth.ts").then((m) => (s: Shared) => m.authHandlers(s.domains, s.callers)),
  surveys: () => import("./surveys.ts").then((m) => (s: Shared) => m.surveyHandlers(s.domains, s.callers, s.links)),
  personas: () => import("./personas.ts").then((m) => (s: Shared) => m.personaHandlers(s.domains, s.callers, s.links)),
  social: () => import("./social.ts").then((m) => (s: Shared) => m.socialHandlers(s.domains, s.callers, s.links)),
  chats: () => import("./chats.ts").then((m) => (s: Shared) => m.chatHandlers(s.domains, s.callers, s.links)),
  lifecycle: () => import("./lifecycle.ts").then((m) => (s: Shared) => m.lifecycleHandlers(s.domains, s.callers, s.links)),
};
type Group = keyof typeof GROUPS;
type GroupHandlers = { [G in Group]: ReturnType<Awaited<ReturnType<(typeof GROUPS)[G]>>> };

export type Handlers = GroupHandlers & { health: { live: Handler; ready: Handler; document: Handler } };

/** A group's module (or the domains) could not be loaded: the request is answered 500, and the next one tries again. */
export class RoutesNotLoadedError extends Error {
  override name = "RoutesNotLoadedError";
}

/** `load` once; a failed load is forgotten, so a later request tries again instead of failing forever. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}

/**
 * A stand-in for each of a group's handlers: the first call loads the group, later calls go
 * straight to the real handler. A `Proxy`, so routes.ts names handlers as it always has and
 * the type checker holds those names to the group's module.
 */
function onFirstUse<T extends object>(group: string, load: () => Promise<T>): T {
  const standIns = new Map<string, Handler>();
  const standIn = (name: string): Handler => {
    let handler: Handler | undefined;
    return (ctx) =>
      handler
        ? handler(ctx)
        : load().then(
            (handlers) => {
              handler = (handlers as Record<string, Handler>)[name]!;
              return handler(ctx);
            },
            (error: unknown) => {
              throw new RoutesNotLoadedError(`The ${group} routes could not be loaded`, { cause: error });
            },
          );
  };
  return new Proxy({} as T, {
    get: (_, name) => {
      if (typeof name !== "string") return undefined;
      let handler = standIns.get(name);
      if (!handler) standIns.set(name, (handler = standIn(name)));
      return handler;
    },
  });
}

/**
 * @example routes(handlersFor(config, () => import("../compose.ts").then(({ compose }) => compose(config))))
 */
export function handlersFor(config: Config, domains: () => Promise<Domains>): Handlers {
  const shared = once(async (): Promise<Shared> => {
    const [composed, { callersFor }] = await Promise.all([domains(), import("../identify.ts")]);
    // A deleted account's tokens are refused everywhere a caller is recognised.
    const callers = callersFor(composed.config, composed.lifecycle);
    return { domains: composed, callers, links: linksFor(composed.config.publicBaseUrl) };
  });
  const lazy = <G extends Group>(group: G): GroupHandlers[G] =>
    onFirstUse(
      group,
      once(async () => {
        const [s, make] = await Promise.all([shared(), GROUPS[group]()]);
        return make(s) as GroupHandlers[G];
      }),
    );
  return {
    health: { live: health.live, ready: health.ready(readinessProbe(config)), document },
    auth: lazy("auth"),
    surveys: lazy("surveys"),
    personas: lazy("personas"),
    social: lazy("social"),
    chats: lazy("chats"),
    lifecycle: lazy("lifecycle"),
  };
}
