/**
 * Every call the client makes to the API, and every assumption about a response's shape, in
 * this one module: a rename in the API contract is a change here and nowhere else. Pages get
 * camelCase records; snake_case stays on the wire side of this file.
 *
 * The wire types are the API contract's own (backend/api/contract/, the zod schemas the
 * handlers validate with and docs/openapi.json is generated from), imported as types only: a
 * renamed field fails `tsc -p web`, and no zod reaches the bundle (docs/decisions.md, "Web
 * client (issue 16)").
 *
 * All calls go through `/api` on our own origin (CloudFront's `/api/*` behaviour; locally the
 * front server). A failed call throws `ApiError` (the API's `{error:{code,message,details}}`,
 * with `Retry-After` in seconds when given) or `OfflineError` (no answer at all).
 */
import type { z } from "zod";
import type * as C from "../../backend/api/contract/index.ts";
import type { NotEnoughAnswers, RateLimit as RateLimitDetails } from "../../backend/api/contract/errors.ts";
import type { Trait } from "../../backend/surveys/questions.ts";
import { credentials } from "./session.ts";
import { readEvents } from "./sse.ts";

/** What the API writes for schema `S` (what the handlers return, as the contract says). */
type Wire<S extends z.ZodType> = z.output<S>;
/** What the API reads for schema `S` (a request body). */
type Send<S extends z.ZodType> = z.input<S>;

const BASE = "/api/v1";

export type { Trait };
/** Which limit a 429 `rate_limited` ran into. */
export type RateLimit = (typeof C.RATE_LIMITS)[number];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The API's code; `http_<status>` for an answer that is not the API's (a proxy's error page). */
    readonly code: C.ErrorCode | `http_${number}`,
    message: string,
    readonly retryAfterSeconds?: number,
    /** `error.details` where the code has them (`rate_limited`: which limit; `not_enough_answers`: the counts). */
    readonly details: Partial<Wire<typeof RateLimitDetails> & Wire<typeof NotEnoughAnswers>> = {},
  ) {
    super(message);
  }
}

/** The network failed: the request may not have reached us. */
export class OfflineError extends Error {}

async function errorOf(res: Response): Promise<ApiError> {
  // The contract's error body is a union of one schema per code; these are the parts a client reads.
  type Body = { error?: { code: C.ErrorCode; message: string; details?: ApiError["details"] } };
  const body = (await res.json().catch(() => null)) as Body | null;
  const error = body?.error;
  const retry = Number(res.headers.get("retry-after"));
  return new ApiError(
    res.status,
    error?.code ?? `http_${res.status}`,
    error?.message ?? res.statusText,
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
    error?.details ?? {},
  );
}

const isCode = (error: unknown, code: C.ErrorCode) => error instanceof ApiError && error.code === code;
/** 404: no such thing, or someone else's private one (the API does not tell them apart). */
export const isNotFound = (error: unknown) => error instanceof ApiError && error.status === 404;
export const isDuplicateAnswer = (error: unknown) => isCode(error, "duplicate_answer");
export const isRateLimited = (error: unknown): error is ApiError => error instanceof ApiError && error.status === 429;
/** The caller's own persona exists but is not ready yet. */
export const isPersonaNotReady = (error: unknown) => isCode(error, "persona_not_ready");
/** A persona is already being made (starting another is refused). */
export const isSagaRunning = (error: unknown) => isCode(error, "saga_running");

async function send(method: string, path: string, options: { body?: unknown; stream?: boolean; signal?: AbortSignal } = {}) {
  // The API negotiates: a stream only when asked for with `Accept: text/event-stream`.
  const headers: Record<string, string> = { ...credentials(), accept: options.stream ? "text/event-stream" : "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: "no-store",
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new OfflineError("No connection");
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, { body });
  return (await res.json()) as T;
}

const id = encodeURIComponent;

// ---------------------------------------------------------------- identity

export interface User {
  userId: string;
  name: string | null;
}

export async function signInWithGoogle(idToken: string): Promise<{ token: string; expiresInSeconds: number; user: User }> {
  const r = await json<Wire<typeof C.SignedIn>>("POST", "/auth/google", { id_token: idToken } satisfies Send<typeof C.GoogleSignIn>);
  return { token: r.token, expiresInSeconds: r.expires_in, user: { userId: r.user.user_id, name: r.user.name } };
}

export async function setDisplayName(name: string): Promise<User> {
  const r = await json<Wire<typeof C.Profile>>("PUT", "/me", { name } satisfies Send<typeof C.ProfileChange>);
  return { userId: r.user_id, name: r.name };
}

// ---------------------------------------------------------------- surveys

export interface Questions {
  adjectives: { min: number; max: number; options: string[] };
  ratings: { min: number; max: number; low: string; high: string; stem: string; items: { id: string; text: string }[] };
  texts: { id: string; prompt: string; maxLength: number }[];
}

export interface Survey {
  surveyId: string;
  ownerName: string | null;
  open: boolean;
  questions: Questions;
}

export interface Answer {
  adjectives: string[];
  ratings: Record<string, number>;
  texts: Record<string, string>;
}

/** The caller's open survey, created on first call. */
export async function openSurvey(): Promise<{ surveyId: string; surveyUrl: string }> {
  const r = await json<Wire<typeof C.CreatedSurvey>>("POST", "/surveys");
  return { surveyId: r.survey_id, surveyUrl: r.survey_url };
}

export async function getSurvey(surveyId: string): Promise<Survey> {
  const r = await json<Wire<typeof C.Survey>>("GET", `/surveys/${id(surveyId)}`);
  const q = r.question_set;
  return {
    surveyId: r.survey_id,
    ownerName: r.owner_name,
    open: r.status === "open",
    questions: {
      adjectives: q.adjectives,
      ratings: { ...q.ratings.scale, stem: q.ratings.stem, items: q.ratings.items },
      texts: q.texts.map((t) => ({ id: t.id, prompt: t.prompt, maxLength: t.max_length })),
    },
  };
}

/** One anonymous answer; a repeat from the same device is `ApiError` 409 `duplicate_answer`. */
export async function answerSurvey(surveyId: string, fingerprint: string, answers: Answer): Promise<void> {
  // The words and items are the survey's own (its question set); the API checks them again.
  await json("POST", `/surveys/${id(surveyId)}/responses`, { fingerprint, answers } as Send<typeof C.FriendAnswer>);
}

/** The owner's own adjectives (for the Johari window); answers with what was stored. */
export async function saveOwnAdjectives(surveyId: string, adjectives: string[]): Promise<string[]> {
  const r = await json<Wire<typeof C.SelfAnswers>>("PUT", `/surveys/${id(surveyId)}/self`, { answers: { adjectives } } as Send<
    typeof C.SelfAnswer
  >);
  return r.adjectives;
}

export interface Summary {
  answers: number;
  answersNeeded: number;
  /** Null until enough answers that none can be singled out. */
  aggregates: {
    traits: Record<Trait, { mean: number; spread: number }>;
    adjectives: { adjective: string; count: number }[];
    johari: { arena: string[]; blindSpot: string[]; facade: string[]; unknown: string[] } | null;
  } | null;
}

export async function surveySummary(surveyId: string): Promise<Summary> {
  const r = await json<Wire<typeof C.SurveySummary>>("GET", `/surveys/${id(surveyId)}/summary`);
  const a = r.aggregates;
  return {
    answers: r.answer_count,
    answersNeeded: r.answers_needed,
    aggregates: a && {
      // The contract builds the trait keys from TRAITS, which its type cannot carry.
      traits: a.traits as Record<Trait, { mean: number; spread: number }>,
      adjectives: a.adjectives,
      johari: a.johari && { arena: a.johari.arena, blindSpot: a.johari.blind_spot, facade: a.johari.facade, unknown: a.johari.unknown },
    },
  };
}

// ---------------------------------------------------------------- personas

export type PersonaStatus = Wire<typeof C.PersonaStatus>;
export const isSettled = (status: PersonaStatus) => status === "ready" || status === "failed";

export interface Card {
  name: string;
  tagline: string;
  personality: string;
  speakingStyle: string;
  greeting: string;
  interests: string[];
  visualDescription: string;
}

export interface Persona {
  personaId: string | null;
  status: PersonaStatus;
  reason: string | null;
  answers: number;
  answersNeeded: number;
  card: Card | null;
  portraitUrl: string | null;
  generatedBy: { writer: string; illustrator: string } | null;
}

const cardOf = (c: Wire<typeof C.PersonaCard>): Card => ({
  name: c.name,
  tagline: c.tagline,
  personality: c.personality,
  speakingStyle: c.speaking_style,
  greeting: c.greeting,
  interests: c.interests,
  visualDescription: c.visual_description,
});

export async function myPersona(): Promise<Persona> {
  const r = await json<Wire<typeof C.PersonaView>>("GET", "/personas/me");
  return {
    personaId: r.persona_id,
    status: r.status,
    reason: r.reason,
    answers: r.answers,
    answersNeeded: r.answers_needed,
    card: r.card && cardOf(r.card),
    portraitUrl: r.illustration_url,
    generatedBy: r.generated_by,
  };
}

/**
 * Where an `<img>` can load a portrait from. A public portrait's URL is a plain, cacheable
 * address; a private persona's is the API's own route, which wants the owner's credentials
 * that an `<img>` cannot send: it is fetched with them and shown from a `blob:` URL (revoke
 * it once the image has loaded).
 */
export async function portraitSource(url: string): Promise<{ src: string; owned: boolean }> {
  const address = new URL(url, location.href);
  if (address.origin !== location.origin || address.pathname !== `${BASE}/personas/me/portrait`) return { src: url, owned: false };
  let res: Response;
  try {
    res = await fetch(address, { headers: { ...credentials(), accept: "image/*" }, cache: "no-store" });
  } catch {
    throw new OfflineError("No connection");
  }
  if (!res.ok) throw await errorOf(res);
  return { src: URL.createObjectURL(await res.blob()), owned: true };
}

/** Starts (or regenerates) the persona: 409 `saga_running` while one is being made, 422 `not_enough_answers` before enough answers. */
export async function startPersona(): Promise<void> {
  await json<Wire<typeof C.SagaStarted>>("POST", "/personas/me");
}

export interface StatusUpdate {
  status: PersonaStatus;
  reason: string | null;
  at: string;
}

/**
 * Follows the persona's status feed until `ready` or `failed`, reconnecting after a dropped
 * connection (or the server's end of a long stream) with `Last-Event-ID`, so no step is
 * shown twice or missed. Ends quietly when `signal` aborts.
 */
export async function followPersonaStatus(onStatus: (update: StatusUpdate) => void, signal: AbortSignal): Promise<void> {
  let lastEventId: string | undefined;
  let retryMs = 1000;
  while (!signal.aborted) {
    let settled = false;
    try {
      const headers: Record<string, string> = { ...credentials(), accept: "text/event-stream" };
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      const res = await fetch(`${BASE}/personas/me/events`, { headers, signal, cache: "no-store" });
      if (res.status === 204) return; // settled, nothing new
      if (!res.ok) throw await errorOf(res);
      const end = await readEvents(
        res,
        (event) => {
          if (event.event !== "status") return;
          if (event.id !== undefined) lastEventId = event.id;
          const d = JSON.parse(event.data) as Wire<typeof C.StatusChange>;
          settled ||= isSettled(d.status);
          onStatus({ status: d.status, reason: d.reason, at: d.at });
        },
        signal,
      );
      retryMs = end.retryMs ?? retryMs;
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status < 500 && error.status !== 429) throw error;
      // Dropped or refused for now: try again after the advised pause.
      if (error instanceof ApiError && error.retryAfterSeconds) retryMs = error.retryAfterSeconds * 1000;
    }
    if (settled) return;
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, retryMs);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve(undefined);
        },
        { once: true },
      );
    });
  }
}

export async function setVisibility(isPublic: boolean): Promise<{ personaId: string; isPublic: boolean; cardUrl: string }> {
  const r = await json<Wire<typeof C.Visibility>>("PUT", "/personas/me/visibility", { public: isPublic } satisfies Send<
    typeof C.VisibilityChange
  >);
  return { personaId: r.persona_id, isPublic: r.public, cardUrl: r.card_url };
}

export interface PublicCard {
  personaId: string;
  name: string;
  tagline: string;
  traits: Record<Trait, number>;
  arena: string[];
  /** Null while the portrait has no public copy yet. */
  portraitUrl: string | null;
  answers: number;
}

/** A public persona's card; 404 alike for unknown, private and unready ones. */
export async function publicCard(personaId: string): Promise<PublicCard> {
  const r = await json<Wire<typeof C.PublicCard>>("GET", `/personas/${id(personaId)}/card`);
  return {
    personaId: r.persona_id,
    name: r.name,
    tagline: r.tagline,
    traits: r.traits as Record<Trait, number>,
    arena: r.arena,
    portraitUrl: r.illustration_url,
    answers: r.answer_count,
  };
}

/**
 * Whether a persona's card is public: the persona view does not say (nor does the own card,
 * `GET /v1/personas/me/card`, which answers in any visibility), so ask as a stranger would.
 */
export async function isPublic(personaId: string): Promise<boolean> {
  const res = await fetch(`${BASE}/personas/${id(personaId)}/card`, { method: "HEAD", cache: "no-store" });
  return res.ok;
}

/** Where the Character Card V3 export downloads from (the API sends it as an attachment). */
export const charaCardUrl = (personaId: string) =>
  `${BASE}/personas/${id(personaId)}/card?format=${"chara_card_v3" satisfies Wire<typeof C.CharaCardV3>["spec"]}`;

export interface Chemistry {
  score: number;
  names: [string, string];
  similarity: number;
  complementarity: number;
  adjectiveOverlap: number | null;
  sharedAdjectives: string[];
  blurb: { text: string; offline: boolean } | null;
}

/** Chemistry between the caller's persona and `personaId`: 422 `persona_not_ready` until the caller's own is ready. */
export async function chemistryWith(personaId: string): Promise<Chemistry> {
  const r = await json<Wire<typeof C.Chemistry>>("GET", `/personas/me/chemistry/${id(personaId)}`);
  return {
    score: r.score,
    names: [r.a.name, r.b.name],
    similarity: r.breakdown.similarity,
    complementarity: r.breakdown.complementarity,
    adjectiveOverlap: r.breakdown.adjective_overlap,
    sharedAdjectives: r.breakdown.shared_adjectives,
    blurb: r.blurb && { text: r.blurb.text, offline: r.blurb.source !== "model" },
  };
}

// ---------------------------------------------------------------- chats

export interface Chat {
  chatId: string;
  /** Null once the persona was deleted (the chat is then read-only). */
  personaId: string | null;
  title: string;
  updatedAt: string;
  generating: boolean;
}

const chatOf = (c: Wire<typeof C.Chat>): Chat => ({
  chatId: c.chat_id,
  personaId: c.persona_id,
  title: c.title,
  updatedAt: c.updated_at,
  generating: c.generating,
});

/** A new chat with the caller's own persona (`me`), or with a public one. */
export async function openChat(personaId = "me"): Promise<Chat> {
  return chatOf(await json<Wire<typeof C.Chat>>("POST", "/chats", { persona_id: personaId } satisfies Send<typeof C.OpenChat>));
}

/** A page of the caller's chats, newest first; `next` continues it (null: no more). */
export async function listChats(cursor?: string): Promise<{ chats: Chat[]; next: string | null }> {
  const r = await json<Wire<typeof C.ChatPage>>("GET", `/chats${cursor ? `?cursor=${id(cursor)}` : ""}`);
  return { chats: r.chats.map(chatOf), next: r.next_cursor };
}

export type MessageStatus = Wire<typeof C.Message>["status"];

export interface Message {
  messageId: string;
  fromUser: boolean;
  text: string;
  status: MessageStatus;
  createdAt: string;
}

/**
 * A page of history, oldest first: without `older`, the latest page; with it, the page
 * before. `older` of the answer continues backwards; null: nothing older (the API's
 * `next_cursor`; after a full page it may hand out one more cursor whose page is empty).
 */
export async function history(chatId: string, older?: string, limit = 20): Promise<{ messages: Message[]; older: string | null }> {
  const query = new URLSearchParams({ limit: String(limit), direction: "older" });
  if (older) query.set("cursor", older);
  const r = await json<Wire<typeof C.MessagePage>>("GET", `/chats/${id(chatId)}/messages?${query}`);
  return {
    messages: r.messages.map((m) => ({
      messageId: m.message_id,
      fromUser: m.role === "user",
      text: m.text,
      status: m.status,
      createdAt: m.created_at,
    })),
    older: r.next_cursor,
  };
}

export interface ReplyEvents {
  started(ids: { userMessageId: string; replyId: string }): void;
  token(text: string): void;
  /** How the reply was stored: complete, or interrupted with what arrived. */
  stored(status: MessageStatus): void;
  done(): void;
  /** The stream failed after it began (`model_refused`, `model_unavailable`, …). */
  failed(message: string, code: Wire<typeof C.StreamError>["code"]): void;
}

type ChatEvent<K extends keyof typeof C.CHAT_EVENTS> = Wire<(typeof C.CHAT_EVENTS)[K]>;

/** Sends `text`; the reply streams into `on` token by token. Errors before the stream throw `ApiError`. */
export async function sendMessage(chatId: string, text: string, on: ReplyEvents, signal?: AbortSignal): Promise<void> {
  const res = await send("POST", `/chats/${id(chatId)}/messages`, {
    body: { text } satisfies Send<typeof C.SendMessage>,
    stream: true,
    signal,
  });
  await readEvents(
    res,
    (event) => {
      const data: unknown = JSON.parse(event.data);
      if (event.event === "message") {
        const d = data as ChatEvent<"message">;
        on.started({ userMessageId: d.user_message_id, replyId: d.reply_id });
      } else if (event.event === "token") on.token((data as ChatEvent<"token">).text);
      else if (event.event === "stored") on.stored((data as ChatEvent<"stored">).status);
      else if (event.event === "done") on.done();
      else if (event.event === "error") {
        const d = data as ChatEvent<"error">;
        on.failed(d.message, d.code);
      }
    },
    signal,
  );
}

/** Asks the API to stop a reply still being written; the stream then ends with `stored: interrupted`. */
export async function stopReply(chatId: string, replyId: string): Promise<void> {
  await json<Wire<typeof C.Stopping>>("POST", `/chats/${id(chatId)}/messages/${id(replyId)}/stop`);
}
