/**
 * Sign-in. Deployed: Google Identity Services → `POST /v1/auth/google` → our token, kept for
 * this tab only (session.ts). Local mode only: a labelled "continue as" form whose user id
 * and name the local API trusts as headers.
 */
import { setDisplayName, signInWithGoogle } from "../api.ts";
import { h, replace, statusLine, uid } from "../dom.ts";
import { go, type PageContext } from "../router.ts";
import { signIn, signOut } from "../session.ts";
import { GOOGLE_SIGN_IN } from "../../csp.ts";
import { problem } from "../ui.ts";

export interface SignInOptions {
  local: boolean;
  googleClientId: string | null;
}

interface GoogleIdentity {
  accounts: {
    id: {
      initialize(options: { client_id: string; callback: (response: { credential: string }) => void }): void;
      renderButton(parent: HTMLElement, options: Record<string, string>): void;
    };
  };
}

let gis: Promise<GoogleIdentity> | undefined;
/** Google's script, loaded once and only when Google sign-in is on (the CSP allows it then). */
function loadGoogle(): Promise<GoogleIdentity> {
  gis ??= new Promise((resolve, reject) => {
    const script = h("script", { src: `${GOOGLE_SIGN_IN}client`, async: true });
    script.addEventListener("load", () => resolve((window as unknown as { google: GoogleIdentity }).google));
    script.addEventListener("error", () => {
      gis = undefined;
      reject(new Error("Google sign-in could not be loaded"));
    });
    document.head.append(script);
  });
  return gis;
}

export function signInPage({ main, signal }: PageContext, options: SignInOptions, next: string): void {
  document.title = "Sign in · Re:MirAI";
  const status = statusLine();
  const google = options.googleClientId ? h("div", { class: "google" }) : null;
  replace(
    main,
    h("h1", { tabindex: -1 }, "Sign in"),
    h("p", { class: "lead" }, "Make a survey, share its link with friends, and meet the persona their answers paint."),
    google,
    options.local && localForm(status, next),
    !google && !options.local && h("p", {}, "Sign-in is not configured here: the build needs GOOGLE_CLIENT_ID."),
    status,
  );
  if (!google || !options.googleClientId) return;
  const clientId = options.googleClientId;
  loadGoogle().then(
    (g) => {
      if (signal.aborted) return;
      g.accounts.id.initialize({
        client_id: clientId,
        callback: async ({ credential }) => {
          status.say("Signing in…");
          try {
            const { token, expiresInSeconds, user } = await signInWithGoogle(credential);
            signIn({ kind: "google", token, expiresAt: Date.now() + expiresInSeconds * 1000, uid: user.userId, name: user.name ?? "you" });
            go(next, { replace: true });
          } catch (error) {
            status.say(problem(error), "error");
          }
        },
      });
      g.accounts.id.renderButton(google, { theme: "outline", size: "large", text: "signin_with" });
    },
    (error: Error) => status.say(error.message, "error"),
  );
}

function localForm(status: ReturnType<typeof statusLine>, next: string): HTMLElement {
  const uidId = uid("uid");
  const nameId = uid("name");
  const userId = h("input", {
    id: uidId,
    name: "uid",
    required: true,
    autocomplete: "username",
    pattern: "[A-Za-z0-9_.:@\\-]{1,300}",
    value: "demo",
  });
  const name = h("input", { id: nameId, name: "name", required: true, maxlength: 60, autocomplete: "name", value: "Demo" });
  const form = h(
    "form",
    { class: "local", "aria-labelledby": "local-title" },
    h("h2", { id: "local-title" }, "Local mode: continue as anyone"),
    h("p", { class: "note" }, "This stack runs with AUTH_MODE=local: no password, the API trusts the user id you type. Never deployed."),
    h("div", { class: "field" }, h("label", { for: uidId }, "User id"), userId),
    h("div", { class: "field" }, h("label", { for: nameId }, "Display name (your friends see it)"), name),
    h("button", { type: "submit", class: "primary" }, "Continue"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    signIn({ kind: "local", uid: userId.value, name: name.value.trim() });
    try {
      await setDisplayName(name.value.trim());
      go(next, { replace: true });
    } catch (error) {
      signOut();
      status.say(problem(error), "error");
    }
  });
  return form;
}
