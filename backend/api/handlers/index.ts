/** Every route handler, built once from the domains, the one way to learn the caller, and the links. */
import type { Domains } from "../../compose.ts";
import { readinessProbe } from "../../ports/readiness.ts";
import { callersFor } from "../identify.ts";
import { authHandlers } from "./auth.ts";
import { chatHandlers } from "./chats.ts";
import * as health from "./health.ts";
import { lifecycleHandlers } from "./lifecycle.ts";
import { linksFor } from "./links.ts";
import { document } from "./openapi.ts";
import { personaHandlers } from "./personas.ts";
import { socialHandlers } from "./social.ts";
import { surveyHandlers } from "./surveys.ts";

export function handlersFor(domains: Domains) {
  // A deleted account's tokens are refused everywhere a caller is recognised.
  const callers = callersFor(domains.config, domains.lifecycle);
  const links = linksFor(domains.config.publicBaseUrl);
  return {
    health: { live: health.live, ready: health.ready(readinessProbe(domains.config)), document },
    auth: authHandlers(domains, callers),
    surveys: surveyHandlers(domains, callers, links),
    personas: personaHandlers(domains, callers, links),
    social: socialHandlers(domains, callers, links),
    chats: chatHandlers(domains, callers, links),
    lifecycle: lifecycleHandlers(domains, callers, links),
  };
}

export type Handlers = ReturnType<typeof handlersFor>;
