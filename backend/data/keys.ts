/**
 * Every key of the single table, built in one place. See docs/data-model.md for the access
 * patterns they serve.
 *
 * Every item of a user is reachable from `USER#<uid>` by key or Query (directly, or through
 * a pointer there), so an account can be deleted without a Scan (docs/data-model.md).
 *
 *   PK                      SK                         what
 *   USER#<uid>              PROFILE                    a user
 *   USER#<uid>              OPEN_SURVEY                pointer to the user's current survey
 *   USER#<uid>              SURVEY#<id>                pointer to each survey the user made
 *   SURVEY#<id>             META                       survey: owner, question set, status, answer count
 *   SURVEY#<id>             ANSWER#<hmac>              one friend's answer (hmac of the fingerprint)
 *   SURVEY#<id>             SELF                       the owner's own answers
 *   SURVEY#<id>             ROUND#<n>                  a published round: aggregates of exactly its answers
 *   USER#<uid>              PERSONA                    the user's persona: status, saga, card, draft
 *   USER#<uid>              PERSONA_EVENT#<seq>        one status change (for the SSE feed), TTL'd
 *   PERSONA#<personaId>     OWNER                      public persona id → owner uid
 *   USER#<uid>              CHAT#<chatId>              a chat (ids sort by creation time)
 *   USER#<personaUid>       PERSONA_CHAT#<chatId>      pointer to a chat someone has with the user's persona
 *   USER#<uid>              SELF_CHAT                  which chat the one-shot endpoint continues
 *   CHAT#<chatId>           MSG#<messageId>            one message (ids sort by creation time)
 *   CHAT#<chatId>           PROG#<replyId>#<alt>#<seq> a reply's progress while it generates, TTL'd
 *   RATE#USER#<uid>         WINDOW#<scope>#<start>     TTL'd rate-limit counter of a user
 *   RATE#SURVEY#<id>        WINDOW#<scope>[#<ip>]#<start>  TTL'd counter of a survey (per IP pseudonym)
 *   RATE#IP#<pseudonym>     WINDOW#<scope>#<start>     TTL'd counter of a client IP (sign-in)
 *   JOB#<kind>#<id>         JOB                        a deletion still being carried out
 *   REVOKED#<pseudonym>     ACCOUNT                    a deleted account's old tokens are refused, TTL'd
 *
 *   GSI1PK                  GSI1SK
 *   SAGA#ACTIVE             <step deadline ISO>#<uid>        sagas in flight, for the sweeper
 *   JOBS#LIFECYCLE          <due ISO>#<kind>#<id>            deletion jobs, for the sweeper
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
  /** Everything of a user lives in (or is pointed to from) this partition. */
  userItems: (uid: string) => ({ PK: `USER#${part(uid)}` }),
  /** The pointer to one survey the user made (every survey has one, so deletion finds them all). */
  ownSurvey: (uid: string, surveyId: string): Key => ({ PK: `USER#${part(uid)}`, SK: `SURVEY#${part(surveyId)}` }),
  ownSurveys: (uid: string) => ({ PK: `USER#${part(uid)}`, SKPrefix: "SURVEY#" }),
  /** Every item of a survey (meta, answers, self answer, and whatever else the survey keeps). */
  surveyItems: (surveyId: string) => ({ PK: `SURVEY#${part(surveyId)}` }),
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
  /** A chat someone (`chat.uid`) has with this user's persona, pointed to from the persona's owner. */
  guestChat: (personaUid: string, chatId: string): Key => ({ PK: `USER#${part(personaUid)}`, SK: `PERSONA_CHAT#${part(chatId)}` }),
  guestChatsOf: (personaUid: string) => ({ PK: `USER#${part(personaUid)}`, SKPrefix: "PERSONA_CHAT#" }),
  personaEventsOf: (uid: string) => ({ PK: `USER#${part(uid)}`, SKPrefix: "PERSONA_EVENT#" }),
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
  /** A rate-limit window lives in its owner's counter partition, so deleting the owner finds it. */
  rateWindow: (owner: RateOwner, scope: string, windowStart: number): Key => ({
    ...rates(owner),
    SK: `WINDOW#${part(scope)}#${"survey" in owner && owner.ip !== undefined ? `${part(owner.ip)}#` : ""}${windowStart}`,
  }),
  /** Every counter of one owner. */
  ratesOf: (owner: RateOwner) => rates(owner),
  /** A deletion in progress (`kind`: account, persona, survey), found again by the sweeper if its message is lost. */
  lifecycleJob: (kind: string, id: string): Key => ({ PK: `JOB#${part(kind)}#${part(id)}`, SK: "JOB" }),
  pendingJobs: { GSI1PK: "JOBS#LIFECYCLE" } as const,
  pendingJob: (due: string, kind: string, id: string) => ({ GSI1PK: "JOBS#LIFECYCLE", GSI1SK: `${part(due)}#${part(kind)}#${part(id)}` }),
  /** A deleted account, by a keyed hash of its uid (never the uid): its old tokens are refused until it expires. */
  revokedAccount: (pseudonym: string): Key => ({ PK: `REVOKED#${part(pseudonym)}`, SK: "ACCOUNT" }),
};

/**
 * Whose counter a rate-limit window is. A survey's counters per client IP carry the IP's
 * pseudonym in the sort key, so the survey's partition holds them all; a sign-in counter
 * belongs to no account (the caller is not known yet), only to an IP pseudonym, and expires.
 */
export type RateOwner = { user: string } | { survey: string; ip?: string } | { ip: string };

function rates(owner: RateOwner): { PK: string } {
  if ("user" in owner) return { PK: `RATE#USER#${part(owner.user)}` };
  if ("survey" in owner) return { PK: `RATE#SURVEY#${part(owner.survey)}` };
  return { PK: `RATE#IP#${part(owner.ip)}` };
}
