/** The chat domain's stored shapes (docs/data-model.md): a chat, its messages, a page of either. */

export interface Chat {
  chatId: string;
  uid: string;
  /** Gone once the persona is deleted: the chat then stays readable, and takes no more messages. */
  personaId?: string;
  personaUid?: string;
  closed?: "persona_deleted";
  title: string;
  createdAt: string;
  updatedAt: string;
  /** Older turns folded into prose, and the last message id folded in. */
  summary?: string;
  summaryThrough?: string;
  /** The reply being generated, if any: one at a time per chat. */
  generating?: { replyId: string; expiresAt: string };
  /** The chat's last turn (set when it begins): only it may be regenerated or edited. */
  lastTurn?: { userId: string; replyId: string };
}

/** One answer to a regenerated reply, as it ended (the reply item keeps them all, in order). */
export interface Alternate {
  text: string;
  status: MessageStatus;
  usage?: { inputTokens: number; outputTokens: number };
}

export type MessageStatus = "complete" | "generating" | "interrupted" | "failed";

export interface Message {
  messageId: string;
  chatId: string;
  role: "user" | "model";
  text: string;
  status: MessageStatus;
  createdAt: string;
  usage?: { inputTokens: number; outputTokens: number };
  stopRequested?: boolean;
  /**
   * While generating: until when the generator is known alive without progress items (epoch
   * ms). Set at the start to cover a connected stream's whole life; a reader asking for
   * progress shortens it (the generator then renews it on every progress item).
   */
  leaseUntil?: number;
  /** A reader in another process asked the generator to persist its progress. */
  followed?: boolean;
  /** The persona's greeting that opens a chat (not sent to the model: the system prompt is the persona). */
  greeting?: boolean;
  /** The owner's thumbs up or down on a reply. */
  feedback?: { rating: "up" | "down"; at: string };
  /** A reply: the user message it answers. */
  inReplyTo?: string;
  /** Which alternate is being generated or shown (0: the first answer). */
  alternate?: number;
  /** Once regenerated: every alternate that ended, index = its number; `text` is the shown one's. */
  alternates?: Alternate[];
  /** A user message whose text was edited (the last turn's). */
  editedAt?: string;
}

export interface Page<T> {
  items: T[];
  /** Key to continue from, when there may be more. */
  next?: string;
}

/** Where a page of history starts: before (`older`) or after (`newer`) a message id. */
export interface HistoryPosition {
  direction: "older" | "newer";
  cursor?: string;
}

/** What a reply request names: nothing (or a user message), a finished reply, or one generating. */
export type StopOutcome = "stopping" | "not_generating" | "no_such_reply";
