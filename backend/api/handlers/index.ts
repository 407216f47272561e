/** Every route handler, built once from the domains and the one way to learn the caller. */
import type { Domains } from "../../compose.ts";
import { readinessProbe } from "../../ports/readiness.ts";
import { callersFor } from "../identify.ts";
import { authHandlers } from "./auth.ts";
import { chatHandlers } from "./chats.ts";
import * as health from "./health.ts";
import { lifecycleHandlers } from "./lifecycle.ts";
import { personaHandlers } from "./personas.ts";
import { socialHandlers } from "./social.ts";
import { surveyHandlers } from "./surveys.ts";

export function handlersFor(domains: Domains) {
  // A deleted account's tokens are refused everywhere a caller is recognised.
  const callers = callersFor(domains.config, domains.lifecycle);
  return {
    health: { live: health.live, ready: health.ready(readinessProbe(domains.config)) },
    auth: authHandlers(domains, callers),
    surveys: surveyHandlers(domains, callers),
    personas: personaHandlers(domains, callers),
    social: socialHandlers(domains, callers),
    chats: chatHandlers(domains, callers),
    lifecycle: lifecycleHandlers(domains, callers),
  };
}

export type Handlers = ReturnType<typeof handlersFor>;
