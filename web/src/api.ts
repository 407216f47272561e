/**
 * Every call the client makes to the API, and every assumption about a response's shape, in
 * this one module: a rename in the API contract is a change here and nowhere else. Pages get
 * camelCase records; snake_case stays on the wire side of this file.
 *
 * All calls go through `/api` on our own origin (CloudFront's `/api/*` behaviour; locally the
 * front server). A failed call throws `ApiError` (the API's `{error:{code,message}}`, with
 * `Retry-After` in seconds when given) or `OfflineError` (no answer at all).
 */
import { credentials } from "./session.ts";
import { readEvents } from "./sse.ts";

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The network failed: the request may not have reached us. */
export class OfflineError extends Error {}

async function errorOf(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  const retry = Number(res.headers.get("retry-after"));
  return new ApiError(
    res.status,
    body?.error?.code ?? `http_${res.status}`,
    body?.error?.message ?? res.statusText,
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
  );
}

async function send(method: string, path: string, options: { body?: unknown; stream?: boolean; signal?: AbortSignal } = {}) {
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
  return (res.status === 204 ? null : await res.json()) as T;
}

const id = encodeURIComponent;

// ---------------------------------------------------------------- identity

export interface User {
  uid: string;
  name: string | null;
}

export async function signInWithGoogle(idToken: string): Promise<{ token: string; expiresInSeconds: number; user: User }> {
  const r = await json<{ token: string; expires_in: number; user: { uid: string; name: string | null } }>("POST", "/auth/google", {
    id_token: idToken,
  });
  return { token: r.token, expiresInSeconds: r.expires_in, user: { uid: r.user.uid, name: r.user.name } };
}

export async function setDisplayName(name: string): Promise<User> {
  const r = await json<{ uid: string; name: string | null }>("PUT", "/me", { name });
  return { uid: r.uid, name: r.name };
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
  const r = await json<{ survey_id: string; survey_url: string }>("POST", "/surveys");
  return { surveyId: r.survey_id, surveyUrl: r.survey_url };
}

export async function getSurvey(surveyId: string): Promise<Survey> {
  type Wire = {
    survey_id: string;
    owner_name: string | null;
    status: string;
    question_set: {
      adjectives: Questions["adjectives"];
      ratings: { scale: { min: number; max: number; low: string; high: string }; stem: string; items: { id: string; text: string }[] };
      texts: { id: string; prompt: string; max_length: number }[];
    };
  };
  const r = await json<Wire>("GET", `/surveys/${id(surveyId)}`);
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
export async function answerSurvey(surveyId: string, fingerprint: string, answer: Answer): Promise<void> {
  await json("POST", `/surveys/${id(surveyId)}/responses`, { fingerprint, answers: answer });
}

export const isDuplicateAnswer = (error: unknown) => error instanceof ApiError && error.code === "duplicate_answer";
export const isRateLimited = (error: unknown) => error instanceof ApiError && error.status === 429;

export async function saveOwnAdjectives(surveyId: string, adjectives: string[]): Promise<void> {
  await json("PUT", `/surveys/${id(surveyId)}/self`, { answers: { adjectives } });
}

export type Trait = "extraversion" | "agreeableness" | "conscientiousness" | "emotional_stability" | "openness";

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
  type Wire = {
    answer_count: number;
    answers_needed: number;
    aggregates: {
      traits: Record<Trait, { mean: number; spread: number }>;
      adjectives: { adjective: string; count: number }[];
      johari: { arena: string[]; blind_spot: string[]; facade: string[]; unknown: string[] } | null;
    } | null;
  };
  const r = await json<Wire>("GET", `/surveys/${id(surveyId)}/summary`);
  const a = r.aggregates;
  return {
    answers: r.answer_count,
    answersNeeded: r.answers_needed,
    aggregates: a && {
      traits: a.traits,
      adjectives: a.adjectives,
      johari: a.johari && { arena: a.johari.arena, blindSpot: a.johari.blind_spot, facade: a.johari.facade, unknown: a.johari.unknown },
    },
  };
}

// ---------------------------------------------------------------- personas

export type PersonaStatus = "pending" | "synthesizing" | "generating_image" | "ready" | "failed";
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

type WireCard = {
  name: string;
  tagline: string;
  personality: string;
  speaking_style: string;
  greeting: string;
  interests: string[];
  visual_description: string;
};
const cardOf = (c: WireCard): Card => ({
  name: c.name,
  tagline: c.tagline,
  personality: c.personality,
  speakingStyle: c.speaking_style,
  greeting: c.greeting,
  interests: c.interests,
  visualDescription: c.visual_description,
});

export async function myPersona(): Promise<Persona> {
  type Wire = {
    persona_id: string | null;
    status: PersonaStatus;
    reason: string | null;
    answers: number;
    answers_needed: number;
    card: WireCard | null;
    illustration_url: string | null;
    generated_by: { writer: string; illustrator: string } | null;
  };
  const r = await json<Wire>("GET", "/personas/me");
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

/** Starts (or regenerates) the persona: 409 while one is being made, 422 before enough answers. */
export async function startPersona(): Promise<void> {
  await json("POST", "/personas/me");
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
          const d = JSON.parse(event.data) as { status: PersonaStatus; reason: string | null; at: string };
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

export async function setVisibility(isPublic: boolean): Promise<{ personaId: string; isPublic: boolean }> {
  const r = await json<{ persona_id: string; public: boolean }>("PUT", "/personas/me/visibility", { public: isPublic });
  return { personaId: r.persona_id, isPublic: r.public };
}

export interface PublicCard {
  personaId: string;
  name: string;
  tagline: string;
  traits: Record<Trait, number>;
  arena: string[];
  portraitUrl: string;
  answers: number;
}

/** A public persona's card; 404 alike for unknown, private and unready ones. */
export async function publicCard(personaId: string): Promise<PublicCard> {
  type Wire = {
    persona_id: string;
    name: string;
    tagline: string;
    traits: Record<Trait, number>;
    arena: string[];
    illustration_url: string;
    answer_count: number;
  };
  const r = await json<Wire>("GET", `/personas/${id(personaId)}/card`);
  return {
    personaId: r.persona_id,
    name: r.name,
    tagline: r.tagline,
    traits: r.traits,
    arena: r.arena,
    portraitUrl: r.illustration_url,
    answers: r.answer_count,
  };
}

/** Whether a persona's card is public (the persona view does not say; its public card does). */
export async function isPublic(personaId: string): Promise<boolean> {
  const res = await fetch(`${BASE}/personas/${id(personaId)}/card`, { method: "HEAD", cache: "no-store" });
  return res.ok;
}

/** Where the Character Card V3 export downloads from (the API sends it as an attachment). */
export const charaCardUrl = (personaId: string) => `${BASE}/personas/${id(personaId)}/card?format=chara_card_v3`;

export interface Chemistry {
  score: number;
  names: [string, string];
  similarity: number;
  complementarity: number;
  adjectiveOverlap: number | null;
  sharedAdjectives: string[];
  blurb: { text: string; offline: boolean } | null;
}

/** Chemistry between the caller's persona and `personaId`. */
export async function chemistryWith(personaId: string): Promise<Chemistry> {
  type Wire = {
    a: { name: string };
    b: { name: string };
    score: number;
    breakdown: { similarity: number; complementarity: number; adjective_overlap: number | null; shared_adjectives: string[] };
    blurb: { text: string; source: string } | null;
  };
  const r = await json<Wire>("GET", `/personas/me/chemistry/${id(personaId)}`);
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
  personaId: string;
  title: string;
  updatedAt: string;
  generating: boolean;
}

type WireChat = { id: string; persona_id: string; title: string; updated_at: string; generating: boolean };
const chatOf = (c: WireChat): Chat => ({
  chatId: c.id,
  personaId: c.persona_id,
  title: c.title,
  updatedAt: c.updated_at,
  generating: c.generating,
});

/** A new chat with the caller's own persona, or with a public one. */
export async function openChat(personaId?: string): Promise<Chat> {
  return chatOf(await json<WireChat>("POST", "/chats", personaId ? { persona_id: personaId } : {}));
}

export async function listChats(cursor?: string): Promise<{ chats: Chat[]; next: string | null }> {
  const r = await json<{ chats: WireChat[]; next_cursor: string | null }>("GET", `/chats${cursor ? `?cursor=${id(cursor)}` : ""}`);
  return { chats: r.chats.map(chatOf), next: r.next_cursor };
}

export type MessageStatus = "complete" | "generating" | "interrupted" | "failed";

export interface Message {
  messageId: string;
  fromUser: boolean;
  text: string;
  status: MessageStatus;
  createdAt: string;
}

/** A page of history, oldest first; `older` pages back from its first message (null: the chat's start). */
export async function history(chatId: string, older?: string, limit = 20): Promise<{ messages: Message[]; older: string | null }> {
  type Wire = { messages: { id: string; role: string; text: string; status: MessageStatus; created_at: string }[]; before: string | null };
  const query = `limit=${limit}${older ? `&before=${id(older)}` : ""}`;
  const r = await json<Wire>("GET", `/chats/${id(chatId)}/messages?${query}`);
  return {
    messages: r.messages.map((m) => ({
      messageId: m.id,
      fromUser: m.role === "user",
      text: m.text,
      status: m.status,
      createdAt: m.created_at,
    })),
    // A short page reached the chat's start, whatever the cursor says.
    older: r.messages.length < limit ? null : r.before,
  };
}

export interface ReplyEvents {
  started(ids: { userMessageId: string; replyId: string }): void;
  token(text: string): void;
  /** How the reply was stored: complete, or interrupted with what arrived. */
  stored(status: MessageStatus): void;
  done(): void;
  failed(message: string): void;
}

/** Sends `text`; the reply streams into `on` token by token. Errors before the stream throw `ApiError`. */
export async function sendMessage(chatId: string, text: string, on: ReplyEvents, signal?: AbortSignal): Promise<void> {
  const res = await send("POST", `/chats/${id(chatId)}/messages`, { body: { text }, stream: true, signal });
  await readEvents(
    res,
    (event) => {
      const d = JSON.parse(event.data);
      if (event.event === "message") on.started({ userMessageId: d.user_message_id, replyId: d.reply_id });
      else if (event.event === "token") on.token(d.text);
      else if (event.event === "stored") on.stored(d.status);
      else if (event.event === "done") on.done();
      else if (event.event === "error") on.failed(d.message);
    },
    signal,
  );
}

/** Asks the API to stop a reply still being written; the stream then ends with `stored: interrupted`. */
export async function stopReply(chatId: string, replyId: string): Promise<void> {
  await json("POST", `/chats/${id(chatId)}/messages/${id(replyId)}/stop`);
}
