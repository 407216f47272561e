/** Every route handler, built once from the domains and the one way to learn the caller. */
import type { Domains } from "../../compose.ts";
import { readinessProbe } from "../../ports/readiness.ts";
import { callersFor } from "../identify.ts";
import { authHandlers } from "./auth.ts";
import { chatHandlers } from "./chats.ts";
import * as health from "./health.ts";
import { personaHandlers } from "./personas.ts";
import { socialHandlers } from "./social.ts";
import { surveyHandlers } from "./surveys.ts";

export function handlersFor(domains: Domains) {
  const callers = callersFor(domains.config);
  return {
    health: { live: health.live, ready: health.ready(readinessProbe(domains.config)) },
    auth: authHandlers(domains, callers),
    surveys: surveyHandlers(domains, callers),
    personas: personaHandlers(domains, callers),
    social: socialHandlers(domains, callers),
    chats: chatHandlers(domains, callers),
  };
}

export type Handlers = ReturnType<typeof handlersFor>;
