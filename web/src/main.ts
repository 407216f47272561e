/**
 * Re:MirAI's web client: plain DOM and TypeScript (docs/decisions.md, "Web client (issue
 * 16)"). This file lays out the shell — header, routes, which pages need a signed-in user —
 * and hands each page the <main> element and a signal that aborts when the user leaves it.
 */
import "./styles.css";
import { h, replace } from "./dom.ts";
import { accountPage, deletedPage } from "./pages/account.ts";
import { chatPage, chatsPage } from "./pages/chats.ts";
import { homePage } from "./pages/home.ts";
import { notFoundPage } from "./pages/not-found.ts";
import { personaPage } from "./pages/persona.ts";
import { publicCardPage } from "./pages/public-card.ts";
import { signInPage, type SignInOptions } from "./pages/sign-in.ts";
import { surveyPage } from "./pages/survey.ts";
import { go, match, route, startRouter, type Page } from "./router.ts";
import { session, signOut } from "./session.ts";

const main = document.getElementById("main")!;
const bar = document.getElementById("bar")!;

/** What the origin serves as /config.json: which sign-in to offer (the build's, or the local stack's). */
async function loadOptions(): Promise<SignInOptions> {
  try {
    const res = await fetch("/config.json", { cache: "no-cache" });
    const c = (await res.json()) as { local_sign_in?: boolean; google_client_id?: string | null };
    return { local: c.local_sign_in === true, googleClientId: c.google_client_id ?? null };
  } catch {
    return { local: false, googleClientId: null };
  }
}

const options = await loadOptions();

/** A page only a signed-in user may see; anyone else signs in first and comes back. */
const signedIn =
  (page: Page): Page =>
  (ctx) =>
    session() ? page(ctx) : signInPage(ctx, options, location.pathname);

const routes = [
  route("/", signedIn(homePage)),
  route("/sign-in", (ctx) => signInPage(ctx, options, "/")),
  route("/s/:id", surveyPage),
  route("/p/:id", publicCardPage),
  route("/persona", signedIn(personaPage)),
  route("/chats", signedIn(chatsPage)),
  route("/chats/:id", signedIn(chatPage)),
  route("/account", signedIn(accountPage)),
  route("/deleted", deletedPage),
];

function header(): void {
  const who = session();
  replace(
    bar,
    h("a", { href: "/", class: "brand" }, "Re:MirAI"),
    who &&
      h(
        "nav",
        { "aria-label": "Main" },
        h("a", { href: "/" }, "Home"),
        h("a", { href: "/persona" }, "Persona"),
        h("a", { href: "/chats" }, "Chats"),
        h("a", { href: "/account" }, "Your data"),
        h(
          "button",
          {
            type: "button",
            class: "link",
            onclick: () => {
              signOut();
              go("/sign-in");
            },
          },
          `Sign out ${who.name}`,
        ),
      ),
  );
}

let leaving: AbortController | undefined;
let first = true;

async function show(): Promise<void> {
  leaving?.abort();
  const controller = (leaving = new AbortController());
  header();
  const found = match(routes, location.pathname);
  try {
    await (found?.page ?? notFoundPage)({ main, params: found?.params ?? {}, signal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted) return;
    throw error;
  }
  if (controller.signal.aborted) return;
  header();
  // After an in-app navigation, put keyboard and screen-reader focus on the new page's title.
  if (!first) (main.querySelector("h1") ?? main).focus();
  first = false;
}

startRouter(() => void show());
