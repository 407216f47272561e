/**
 * Every route of the API, in one place. Paths are written without the `/api` prefix
 * CloudFront forwards; the router strips it.
 */
import type { Config } from "../config.ts";
import type { Readiness } from "../ports/readiness.ts";
import { route, type Route } from "./framework.ts";
import * as auth from "./handlers/auth.ts";
import * as health from "./handlers/health.ts";
import type { LLM } from "../ai/ports.ts";
import { chatHandlers } from "./handlers/chats.ts";
import type { Request } from "./http.ts";
import { personaHandlers } from "./handlers/personas.ts";
import { socialHandlers } from "./handlers/social.ts";
import { surveyHandlers } from "./handlers/surveys.ts";
import { clientIp, identify, requireCaller } from "./identify.ts";
import { autoStartPersona, type PersonaDeps } from "../personas/personas.ts";
import { sendStep } from "../ports/queue.ts";

export interface RouteDeps {
  config: Config;
  readiness: () => Promise<Readiness>;
  llm: LLM;
}

export function routes({ config, readiness, llm }: RouteDeps): Route[] {
  const requireUid = async (req: Request) => (await requireCaller(req, config)).uid;
  const chats = chatHandlers({
    llm,
    requireUid,
    settings: {
      tableName: config.tableName,
      messagesPerMinute: config.chatMessagesPerMinute,
      dailyTokenBudget: config.chatDailyTokenBudget,
      messageMaxChars: config.chatMessageMaxChars,
      contextTokens: config.chatContextTokens,
      maxOutputTokens: config.chatMaxOutputTokens,
      stopPollMs: config.chatStopPollMs,
    },
  });
  const saga: PersonaDeps = { settings: config, sendStep };
  const personas = personaHandlers({
    ...saga,
    requireUid,
    pollMs: config.personaEventsPollMs,
  });
  const social = socialHandlers({ config, llm });
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
    route("PUT", "/v1/me", auth.updateMe(config)),

    route("POST", "/v1/surveys", surveys.create),
    route("GET", "/v1/surveys/:id", surveys.get),
    route("POST", "/v1/surveys/:id/responses", surveys.answer),
    route("PUT", "/v1/surveys/:id/self", surveys.self),
    route("GET", "/v1/surveys/:id/summary", surveys.summary),

    route("GET", "/v1/personas/me", personas.get),
    route("POST", "/v1/personas/me", personas.start),
    route("GET", "/v1/personas/me/events", personas.events),
    route("POST", "/v1/personas/me/chat", chats.oneShot),
    route("PUT", "/v1/personas/me/visibility", social.visibility),
    route("GET", "/v1/personas/:id/card", social.card),
    route("GET", "/v1/personas/:a/chemistry/:b", social.chemistry),

    route("POST", "/v1/chats", chats.open),
    route("GET", "/v1/chats", chats.list),
    route("GET", "/v1/chats/:id/messages", chats.history),
    route("POST", "/v1/chats/:id/messages", chats.send),
    route("POST", "/v1/chats/:id/messages/:mid/stop", chats.stop),
  ];
}
