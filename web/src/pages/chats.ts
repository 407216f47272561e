/**
 * Chats: the list, and one chat — the reply appears token by token with a Stop button,
 * older messages load on scroll-up (or with the button, for keyboards), a reply cut short is
 * marked interrupted, and after a reload the history shows what was stored (a reply still
 * being written is followed until it is stored).
 */
import {
  getChat,
  history,
  isPersonaDeleted,
  listChats,
  openChat,
  sendMessage,
  stopReply,
  type Chat,
  type Message,
  type MessageStatus,
} from "../api.ts";
import { append, h, replace, statusLine, uid } from "../dom.ts";
import { go, type PageContext } from "../router.ts";
import { alertBox, problem } from "../ui.ts";

export async function chatsPage({ main }: PageContext): Promise<void> {
  document.title = "Chats · Re:MirAI";
  const status = statusLine();
  const list = h("ul", { class: "chat-list" });
  const more = h("button", { type: "button", hidden: true }, "Show more chats");
  let next: string | null = null;
  const load = async () => {
    const page = await listChats(next ?? undefined);
    append(list, page.chats.map(chatLink));
    next = page.next;
    more.hidden = next === null;
  };
  const start = async () => {
    try {
      go(`/chats/${(await openChat()).chatId}`);
    } catch (error) {
      status.say(problem(error), "error");
    }
  };
  more.addEventListener("click", () => void load().catch((error: unknown) => status.say(problem(error), "error")));
  replace(
    main,
    h("h1", { tabindex: -1 }, "Chats"),
    h("p", {}, h("button", { type: "button", class: "primary", onclick: () => void start() }, "New chat with my persona")),
    status,
    list,
    more,
  );
  try {
    await load();
    if (list.childElementCount === 0) list.append(h("li", {}, "No chats yet."));
  } catch (error) {
    main.append(alertBox(problem(error)));
  }
}

const chatLink = (c: Chat) =>
  h(
    "li",
    {},
    h("a", { href: `/chats/${encodeURIComponent(c.chatId)}` }, c.title),
    ` · ${new Date(c.updatedAt).toLocaleString()}`,
    c.generating ? " · replying…" : "",
    c.readOnly ? " · read-only (persona deleted)" : "",
  );

const BADGES: Partial<Record<MessageStatus, string>> = {
  generating: "Still being written…",
  interrupted: "Interrupted: the reply was cut short",
  failed: "Failed",
};

/** One message as a list item; `text` is a Text node so tokens can be appended as they come. */
function bubble(fromUser: boolean, text: string, status: MessageStatus, messageId?: string) {
  const body = document.createTextNode(text);
  const badge = h("span", { class: "badge" });
  const el = h(
    "li",
    { class: "message", "data-role": fromUser ? "user" : "persona", "data-id": messageId },
    h("span", { class: "who" }, fromUser ? "You" : "Persona"),
    h("p", { class: "text" }, body),
    badge,
  );
  const set = (next: MessageStatus) => {
    el.dataset.status = next;
    badge.textContent = BADGES[next] ?? "";
  };
  set(status);
  return { el, body, set };
}

export async function chatPage({ main, params, signal }: PageContext): Promise<void> {
  const chatId = params.id!;
  document.title = "Chat · Re:MirAI";
  const messages = h("ol", { class: "messages" });
  const older = h("button", { type: "button", class: "older", hidden: true }, "Load older messages");
  const log = h("div", { class: "log", role: "log", "aria-label": "Messages", tabindex: 0 }, older, messages);
  const status = statusLine();
  const inputId = uid("message");
  const input = h("textarea", { id: inputId, name: "text", rows: 2, required: true, maxlength: 4000 });
  const sendButton = h("button", { type: "submit", class: "primary" }, "Send");
  const stopButton = h("button", { type: "button", hidden: true }, "Stop");
  const form = h(
    "form",
    { class: "composer" },
    h("label", { for: inputId }, "Your message"),
    input,
    h("div", { class: "actions" }, sendButton, stopButton),
  );
  let olderCursor: string | null = null;
  let loadingOlder = false;

  let page: Awaited<ReturnType<typeof history>>;
  let chat: Chat;
  try {
    [chat, page] = await Promise.all([getChat(chatId), history(chatId)]);
  } catch (error) {
    replace(main, h("h1", { tabindex: -1 }, "Chat"), alertBox(problem(error)));
    return;
  }
  const readOnlyNote = h("p", { class: "note", "data-testid": "read-only", hidden: true });
  /** The persona is gone (the chat says so, or a send was refused with 409 `persona_deleted`): reading only. */
  const makeReadOnly = () => {
    readOnlyNote.textContent = "This persona was deleted. You can still read this chat, but it takes no new messages.";
    readOnlyNote.hidden = false;
    input.disabled = sendButton.disabled = true;
    input.setAttribute("aria-describedby", "read-only-note");
  };
  readOnlyNote.id = "read-only-note";
  replace(main, h("h1", { tabindex: -1 }, chat.title || "Chat"), readOnlyNote, log, form, status);
  if (chat.readOnly) makeReadOnly();
  append(messages, page.messages.map(render));
  olderCursor = page.older;
  older.hidden = olderCursor === null;
  log.scrollTop = log.scrollHeight;
  if (page.messages.some((m) => m.status === "generating")) void followStored();

  function render(m: Message): HTMLElement {
    return bubble(m.fromUser, m.text, m.status, m.messageId).el;
  }

  async function loadOlder() {
    if (loadingOlder || olderCursor === null) return;
    loadingOlder = true;
    try {
      const before = log.scrollHeight;
      const page = await history(chatId, olderCursor);
      messages.prepend(...page.messages.map(render));
      olderCursor = page.older;
      older.hidden = olderCursor === null;
      // Keep what the reader was looking at in place.
      log.scrollTop += log.scrollHeight - before;
    } catch (error) {
      status.say(problem(error), "error");
    } finally {
      loadingOlder = false;
    }
  }
  older.addEventListener("click", () => void loadOlder());
  log.addEventListener("scroll", () => {
    if (log.scrollTop < 40) void loadOlder();
  });

  /** A reply being written when the page loaded (a reload mid-reply): show what is stored until it is finished. */
  async function followStored() {
    while (!signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (signal.aborted) return;
      const latest = await history(chatId).catch(() => undefined);
      if (!latest) continue;
      for (const m of latest.messages) {
        const existing = messages.querySelector(`[data-id="${CSS.escape(m.messageId)}"]`);
        if (existing) existing.replaceWith(render(m));
        else messages.append(render(m));
      }
      if (!latest.messages.some((m) => m.status === "generating")) return;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return status.say("Write a message first.", "error");
    const mine = bubble(true, text, "complete");
    const reply = bubble(false, "", "generating");
    reply.el.setAttribute("aria-busy", "true");
    messages.append(mine.el, reply.el);
    log.scrollTop = log.scrollHeight;
    input.value = "";
    sendButton.disabled = true;
    status.say("");
    let replyId: string | undefined;
    stopButton.hidden = false;
    stopButton.disabled = true;
    stopButton.onclick = async () => {
      stopButton.disabled = true;
      try {
        if (replyId) await stopReply(chatId, replyId);
      } catch (error) {
        status.say(problem(error), "error");
      }
    };
    let started = false;
    try {
      await sendMessage(
        chatId,
        text,
        {
          started(ids) {
            started = true;
            replyId = ids.replyId;
            mine.el.dataset.id = ids.userMessageId;
            reply.el.dataset.id = ids.replyId;
            stopButton.disabled = false;
          },
          token(t) {
            reply.body.appendData(t);
            log.scrollTop = log.scrollHeight;
          },
          stored: (s) => reply.set(s),
          done: () => (reply.el.dataset.done = "true"),
          failed(message) {
            reply.set(reply.body.length > 0 ? "interrupted" : "failed");
            status.say(message, "error");
          },
        },
        signal,
      );
    } catch (error) {
      if (signal.aborted) return;
      if (!started) {
        // Nothing was stored: take the message back into the box.
        mine.el.remove();
        reply.el.remove();
        input.value = text;
      } else {
        reply.set("interrupted");
      }
      if (isPersonaDeleted(error)) makeReadOnly();
      status.say(started ? "The connection dropped; reload to see what was stored." : problem(error), "error");
    } finally {
      reply.el.removeAttribute("aria-busy");
      sendButton.disabled = input.disabled;
      stopButton.hidden = true;
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
}
