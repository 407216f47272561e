/**
 * The export as one JSON document, written in chunks so a large account never sits in
 * memory whole: the small parts first, then each chat with its messages a page at a time.
 *
 *   { "format": "remirai-export", "version": 1, "exported_at": …,
 *     "profile": …, "surveys": [ … ], "persona": … | null,
 *     "chats": [ { …chat, "messages": [ …page, …page ] }, … ],
 *     "feedback": [ … ],
 *     "not_included": … }
 *
 * What each domain hands over is its owner's own data; friends' single answers are never
 * among it (a survey brings the summary its owner sees). Names follow the API's (user_id,
 * chat_id, message_id): the contract describes the document as `AccountExport`.
 */
import type { Chat, Message } from "../chats/store.ts";
import type { User } from "../identity/users.ts";

export interface ExportSources {
  profile(): Promise<User | undefined>;
  surveys(): Promise<unknown[]>;
  persona(): Promise<unknown>;
  chats(): AsyncIterable<{ chat: Chat; messages: AsyncIterable<Message[]> }>;
  /** Feedback on replies, once the product keeps any: its place in the document is ready. */
  feedback?(): AsyncIterable<unknown>;
}

export const EXPORT_FORMAT = { format: "remirai-export", version: 1 } as const;

const NOT_INCLUDED =
  "Your friends' individual survey answers are theirs, not yours: only the aggregates you can see are included. " +
  "Other people's chats with your persona are theirs too.";

const profileView = (u: User) => ({
  user_id: u.uid,
  email: u.email,
  name: u.name,
  picture: u.picture,
  created_at: u.createdAt,
  updated_at: u.updatedAt,
});

const chatView = (c: Chat) => ({
  chat_id: c.chatId,
  persona_id: c.personaId ?? null,
  read_only: c.closed !== undefined,
  title: c.title,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  summary: c.summary ?? null,
});

const messageView = (m: Message) => ({
  message_id: m.messageId,
  role: m.role,
  text: m.text,
  status: m.status,
  created_at: m.createdAt,
  ...(m.usage ? { usage: { input_tokens: m.usage.inputTokens, output_tokens: m.usage.outputTokens } } : {}),
  // The owner's feedback on a reply is theirs too (issue 17).
  ...(m.feedback ? { feedback: m.feedback.rating } : {}),
  ...(m.greeting ? { greeting: true as const } : {}),
  ...(m.editedAt ? { edited_at: m.editedAt } : {}),
  // A regenerated reply: every alternate it has, and which one it shows (issue 17).
  ...(m.alternates
    ? {
        alternate: m.alternate ?? 0,
        alternates: m.alternates.map((a) => ({
          text: a.text,
          status: a.status,
          ...(a.usage ? { usage: { input_tokens: a.usage.inputTokens, output_tokens: a.usage.outputTokens } } : {}),
        })),
      }
    : {}),
});

/** `{"a":1,"b":2}` without its closing brace, so more members can follow. */
const open = (value: Record<string, unknown>) => JSON.stringify(value).slice(0, -1);

/** The export document, chunk by chunk. Concatenated, the chunks are one JSON value. */
export async function* exportDocument(sources: ExportSources, now = new Date()): AsyncGenerator<string> {
  const [profile, surveys, persona] = await Promise.all([sources.profile(), sources.surveys(), sources.persona()]);
  yield `${open({ ...EXPORT_FORMAT, exported_at: now.toISOString(), profile: profile ? profileView(profile) : null, surveys, persona: persona ?? null })},"chats":[`;
  let firstChat = true;
  for await (const { chat, messages } of sources.chats()) {
    yield `${firstChat ? "" : ","}${open(chatView(chat))},"messages":[`;
    firstChat = false;
    let firstPage = true;
    for await (const page of messages) {
      if (page.length === 0) continue;
      yield `${firstPage ? "" : ","}${page.map((m) => JSON.stringify(messageView(m))).join(",")}`;
      firstPage = false;
    }
    yield "]}";
  }
  yield `],"feedback":[`;
  let firstFeedback = true;
  for await (const item of sources.feedback?.() ?? []) {
    yield `${firstFeedback ? "" : ","}${JSON.stringify(item)}`;
    firstFeedback = false;
  }
  yield `],"not_included":${JSON.stringify(NOT_INCLUDED)}}`;
}
