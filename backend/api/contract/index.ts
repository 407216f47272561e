/**
 * The API contract: every route's method, path, auth, input and responses, and the schemas
 * of every body and event, in zod. Handlers validate requests with it (handlers/input.ts),
 * `GET /openapi.json` is generated from it (openapi.ts), and a browser client may import it
 * for its types: it imports zod and zod-only modules, nothing of node.
 */
import { chatRetakes } from "./chat-retakes.ts";
import { chats } from "./chats.ts";
import { health, identity } from "./identity.ts";
import { lifecycle } from "./lifecycle.ts";
import type { Operation } from "./operation.ts";
import { personas } from "./personas.ts";
import { social } from "./social.ts";
import { surveys } from "./surveys.ts";

export { ApiError, ERRORS, errorBody, RATE_LIMITS, StreamError, type ErrorCode } from "./errors.ts";
export { errorCodes, HEADERS, type Auth, type Input, type Operation, type Reply } from "./operation.ts";
export * from "./schemas.ts";
export { SelectAlternate } from "./chat-retakes.ts";
export {
  CHAT_EVENTS,
  Chat,
  ChatDeleted,
  ChatPage,
  Feedback,
  FeedbackGiven,
  Message,
  MessagePage,
  OpenChat,
  RenameChat,
  SendMessage,
  Stopping,
  TurnResult,
} from "./chats.ts";
export { GoogleSignIn, Profile, ProfileChange, SignedIn } from "./identity.ts";
export { AccountExport, SurveyClosed, SurveyReopened } from "./lifecycle.ts";
export {
  PersonaCard,
  PersonaStatus,
  PersonaView,
  SagaStarted,
  StatusChange,
  StatusFeed,
  Visibility,
  VisibilityChange,
} from "./personas.ts";
export { CharaCardV3, Chemistry, PublicCard } from "./social.ts";
export {
  AnswerAccepted,
  AnswerWithdrawn,
  CreatedSurvey,
  FriendAnswer,
  SelfAnswer,
  SelfAnswers,
  Survey,
  SurveySummary,
  Withdrawal,
} from "./surveys.ts";

/** Every operation, grouped as the handlers are. */
export const api = { health, identity, surveys, personas, social, chats: { ...chats, ...chatRetakes }, lifecycle };

/** Every operation, in the order the document lists them. */
export const operations: readonly Operation[] = Object.values(api).flatMap((group) => Object.values(group) as Operation[]);
