/**
 * Every key of the single table, built in one place. See docs/data-model.md for the access
 * patterns they serve.
 *
 *   PK                      SK                    what
 *   USER#<uid>              PROFILE               a user
 *   USER#<uid>              OPEN_SURVEY           pointer to the user's one open survey
 *   SURVEY#<id>             META                  survey: owner, question set, answer count
 *   SURVEY#<id>             ANSWER#<hmac>         one friend's answer (hmac of the fingerprint)
 *   SURVEY#<id>             SELF                  the owner's own answers
 *   SURVEY#<id>             ROUND#<n>             a published round: aggregates of exactly its answers
 *   USER#<uid>              PERSONA               the user's persona: status, saga, card, draft
 *   USER#<uid>              PERSONA_EVENT#<seq>   one status change (for the SSE feed), TTL'd
 *   PERSONA#<personaId>     OWNER                 public persona id → owner uid
 *   USER#<uid>              CHAT#<chatId>         a chat (ids sort by creation time)
 *   CHAT#<chatId>           MSG#<messageId>       one message (ids sort by creation time)
 *   CHAT#<chatId>           PROG#<replyId>#<alt>#<seq>  a reply's progress while it generates, TTL'd
 *   RATE#<scope>#<subject>  WINDOW#<start>        TTL'd rate-limit counter
 *
 *   GSI1PK                  GSI1SK
 *   SAGA#ACTIVE             <step deadline ISO>#<uid>   sagas in flight, for the sweeper
 */
export interface Key {
  PK: string;
  SK: string;
}

/**
 * Ids reach keys already validated (data/ids.ts, identity/users.ts `UserId`); this is the
 * last line behind those checks, not a replacement for them. A part that could reach into
 * another key (`#`, our separator), carries control characters or nears DynamoDB's key size
 * limits is a bug upstream: refuse it (a 500) rather than read or write under a wrong key.
 */
const KEY_PART = /^[^#\x00-\x1f\x7f]{1,400}$/;

/** A key was about to be built from an unvalidated value. The value is never quoted. */
export class InvalidKeyPartError extends Error {
  override name = "InvalidKeyPartError";
}

function part(value: string): string {
  if (!KEY_PART.test(value))
    throw new InvalidKeyPartError(`refused a key part of ${value.length} characters: empty, too long, or holding # or a control character`);
  return value;
}

export const keys = {
  user: (uid: string): Key => ({ PK: `USER#${part(uid)}`, SK: "PROFILE" }),
  openSurvey: (uid: string): Key => ({ PK: `USER#${part(uid)}`, SK: "OPEN_SURVEY" }),
  survey: (surveyId: string): Key => ({ PK: `SURVEY#${part(surveyId)}`, SK: "META" }),
  answer: (surveyId: string, fingerprintHash: string): Key => ({ PK: `SURVEY#${part(surveyId)}`, SK: `ANSWER#${part(fingerprintHash)}` }),
  answersOf: (surveyId: string) => ({ PK: `SURVEY#${part(surveyId)}`, SKPrefix: "ANSWER#" }),
  selfAnswer: (surveyId: string): Key => ({ PK: `SURVEY#${part(surveyId)}`, SK: "SELF" }),
  /** Zero-padded so string order is numeric order. */
  round: (surveyId: string, n: number): Key => ({ PK: `SURVEY#${part(surveyId)}`, SK: `ROUND#${String(n).padStart(6, "0")}` }),
  roundsOf: (surveyId: string) => ({ PK: `SURVEY#${part(surveyId)}`, SKPrefix: "ROUND#" }),
  persona: (uid: string): Key => ({ PK: `USER#${part(uid)}`, SK: "PERSONA" }),
  /** Which chat the one-shot `POST /v1/personas/me/chat` continues. */
  selfChat: (uid: string): Key => ({ PK: `USER#${part(uid)}`, SK: "SELF_CHAT" }),
  chat: (uid: string, chatId: string): Key => ({ PK: `USER#${part(uid)}`, SK: `CHAT#${part(chatId)}` }),
  /** A user's chats: their partition, and the sort-key prefix all of them share. */
  chatsOf: (uid: string) => ({ PK: `USER#${part(uid)}`, SKPrefix: "CHAT#" }),
  message: (chatId: string, messageId: string): Key => ({ PK: `CHAT#${part(chatId)}`, SK: `MSG#${part(messageId)}` }),
  /** A chat's messages: its partition, and the sort-key prefix all of them share. */
  messagesOf: (chatId: string) => ({ PK: `CHAT#${part(chatId)}`, SKPrefix: "MSG#" }),
  /** One write of a generating reply's progress (its chunks since the last one and its lease); zero-padded. */
  replyProgress: (chatId: string, replyId: string, alternate: number, seq: number): Key => ({
    PK: `CHAT#${part(chatId)}`,
    SK: `PROG#${part(replyId)}#${String(alternate).padStart(3, "0")}#${String(seq).padStart(6, "0")}`,
  }),
  /** The progress of one alternate of a reply: after `seq` (0: all), up to the last. */
  replyProgressAfter: (chatId: string, replyId: string, alternate: number, seq: number) => ({
    PK: `CHAT#${part(chatId)}`,
    after: `PROG#${part(replyId)}#${String(alternate).padStart(3, "0")}#${String(seq).padStart(6, "0")}`,
    upTo: `PROG#${part(replyId)}#${String(alternate).padStart(3, "0")}#~`,
  }),
  /** Everything of a chat (messages, progress): its partition. */
  chatItems: (chatId: string) => ({ PK: `CHAT#${part(chatId)}` }),
  personaOwner: (personaId: string): Key => ({ PK: `PERSONA#${part(personaId)}`, SK: "OWNER" }),
  /** Zero-padded so string order is numeric order. */
  personaEvent: (uid: string, seq: number): Key => ({ PK: `USER#${part(uid)}`, SK: `PERSONA_EVENT#${String(seq).padStart(10, "0")}` }),
  personaEventsAfter: (uid: string, seq: number) => ({
    PK: `USER#${part(uid)}`,
    after: `PERSONA_EVENT#${String(seq).padStart(10, "0")}`,
    upTo: "PERSONA_EVENT#~",
  }),
  /** The sweeper's index partition: every running saga, sorted by its step deadline. */
  activeSagas: { GSI1PK: "SAGA#ACTIVE" } as const,
  activeSaga: (stepDeadline: string, uid: string) => ({ GSI1PK: "SAGA#ACTIVE", GSI1SK: `${part(stepDeadline)}#${part(uid)}` }),
  /** The uid of a user's partition key (`USER#<uid>`), e.g. from the sweeper's keys-only index. */
  uidOf(pk: string): string {
    if (!pk.startsWith("USER#")) throw new InvalidKeyPartError("not a user's partition key");
    return pk.slice("USER#".length);
  },
  rateWindow: (scope: string, subject: string, windowStart: number): Key => ({
    PK: `RATE#${part(scope)}#${part(subject)}`,
    SK: `WINDOW#${windowStart}`,
  }),
};
