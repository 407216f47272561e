/**
 * Every route of the API, in one place. Paths are written without the `/api` prefix
 * CloudFront forwards; the router strips it.
 */
import type { Config } from "../config.ts";
import type { Readiness } from "../ports/readiness.ts";
import { route, type Route } from "./framework.ts";
import * as auth from "./handlers/auth.ts";
import * as health from "./handlers/health.ts";
import { personaHandlers } from "./handlers/personas.ts";
import { surveyHandlers } from "./handlers/surveys.ts";
import { clientIp, identify, requireCaller } from "./identify.ts";
import { autoStartPersona, type PersonaDeps } from "../personas/personas.ts";
import { sendStep } from "../ports/queue.ts";

export interface RouteDeps {
  config: Config;
  readiness: () => Promise<Readiness>;
}

export function routes({ config, readiness }: RouteDeps): Route[] {
  const saga: PersonaDeps = { settings: config, sendStep };
  const personas = personaHandlers({
    ...saga,
    requireUid: async (req) => (await requireCaller(req, config)).uid,
    pollMs: config.personaEventsPollMs,
  });
  const surveys = surveyHandlers({
    settings: config,
    publicBaseUrl: config.publicBaseUrl,
    identify: (req) => identify(req, config),
    // Without a trusted address every such request shares one bucket: strict, never open.
    clientIp: (req) => clientIp(req, config) ?? "unknown",
    afterAnswer: config.autoGenerate ? (surveyId) => autoStartPersona(saga, surveyId) : undefined,
  });

  return [
    route("GET", "/healthz", health.live),
    route("GET", "/readyz", health.ready(readiness)),

    route("POST", "/v1/auth/google", auth.signInWithGoogle(config)),
    route("GET", "/v1/me", auth.me(config)),

    route("POST", "/v1/surveys", surveys.create),
    route("GET", "/v1/surveys/:id", surveys.get),
    route("POST", "/v1/surveys/:id/responses", surveys.answer),
    route("PUT", "/v1/surveys/:id/self", surveys.self),
    route("GET", "/v1/surveys/:id/summary", surveys.summary),

    route("GET", "/v1/personas/me", personas.get),
    route("POST", "/v1/personas/me", personas.start),
    route("GET", "/v1/personas/me/events", personas.events),
  ];
}
