/**
 * Every route of the API, in one place. Paths are written without the `/api` prefix
 * CloudFront forwards; the router strips it. Each is described in the contract
 * (contract/, served as GET /openapi.json); test/contract.test.ts holds the two lists equal.
 */
import { route, type Route } from "./framework.ts";
import type { Handlers } from "./handlers/index.ts";

export function routes({ health, auth, surveys, personas, social, chats, lifecycle }: Handlers): Route[] {
  return [
    route("GET", "/healthz", health.live),
    route("GET", "/readyz", health.ready),
    route("GET", "/openapi.json", health.document),

    route("POST", "/v1/auth/google", auth.signInWithGoogle),
    route("GET", "/v1/me", auth.me),
    route("PUT", "/v1/me", auth.updateMe),
    route("DELETE", "/v1/me", lifecycle.deleteAccount),
    route("GET", "/v1/me/export", lifecycle.exportAccount),

    route("POST", "/v1/surveys", surveys.create),
    route("GET", "/v1/surveys/:survey_id", surveys.get),
    route("POST", "/v1/surveys/:survey_id/responses", surveys.answer),
    route("POST", "/v1/surveys/:survey_id/responses/withdraw", surveys.withdraw),
    route("PUT", "/v1/surveys/:survey_id/self", surveys.self),
    route("GET", "/v1/surveys/:survey_id/summary", surveys.summary),
    route("POST", "/v1/surveys/:survey_id/close", lifecycle.closeSurvey),
    route("POST", "/v1/surveys/:survey_id/reopen", lifecycle.reopenSurvey),
    route("DELETE", "/v1/surveys/:survey_id", lifecycle.deleteSurvey),

    route("GET", "/v1/personas/me", personas.get),
    route("POST", "/v1/personas/me", personas.start),
    route("DELETE", "/v1/personas/me", lifecycle.deletePersona),
    route("GET", "/v1/personas/me/portrait", lifecycle.ownPortrait),
    route("GET", "/v1/personas/me/events", personas.events),
    route("POST", "/v1/personas/me/chat", chats.oneShot),
    route("PUT", "/v1/personas/me/visibility", social.visibility),
    route("GET", "/v1/personas/:persona_id/card", social.card),
    route("GET", "/v1/personas/:persona_id/chemistry/:other_persona_id", social.chemistry),

    route("POST", "/v1/chats", chats.open),
    route("GET", "/v1/chats", chats.list),
    route("GET", "/v1/chats/:chat_id", chats.get),
    route("PUT", "/v1/chats/:chat_id", chats.rename),
    route("DELETE", "/v1/chats/:chat_id", chats.remove),
    route("GET", "/v1/chats/:chat_id/messages", chats.history),
    route("POST", "/v1/chats/:chat_id/messages", chats.send),
    route("POST", "/v1/chats/:chat_id/messages/:message_id/stop", chats.stop),
    route("GET", "/v1/chats/:chat_id/messages/:message_id/stream", chats.resume),
    route("PUT", "/v1/chats/:chat_id/messages/:message_id/feedback", chats.feedback),
    route("PUT", "/v1/chats/:chat_id/messages/:message_id", chats.edit),
    route("POST", "/v1/chats/:chat_id/messages/:message_id/regenerate", chats.regenerate),
    route("PUT", "/v1/chats/:chat_id/messages/:message_id/alternate", chats.selectAlternate),
  ];
}
