/**
 * Who is signed in, for this tab only: `sessionStorage` (it survives a reload, not the tab),
 * never `localStorage`. Deployed it holds our JWT from `POST /v1/auth/google`; in local mode
 * the user id and display name the local API trusts as headers.
 */
export type Session =
  | { kind: "local"; uid: string; name: string }
  | { kind: "google"; token: string; expiresAt: number; uid: string; name: string };

const KEY = "remirai.session";
let current: Session | undefined = restore();

function restore(): Session | undefined {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Session | null;
    return saved ?? undefined;
  } catch {
    return undefined;
  }
}

export function session(): Session | undefined {
  if (current?.kind === "google" && current.expiresAt <= Date.now()) signOut();
  return current;
}

export function signIn(next: Session): void {
  current = next;
  sessionStorage.setItem(KEY, JSON.stringify(next));
}

export function signOut(): void {
  current = undefined;
  sessionStorage.removeItem(KEY);
}

/** The headers that say who is calling. */
export function credentials(): Record<string, string> {
  const s = session();
  if (!s) return {};
  if (s.kind === "google") return { authorization: `Bearer ${s.token}` };
  // Header values are bytes: the name travels percent-encoded, as the local API expects.
  return { "x-user-uid": s.uid, "x-user-name": encodeURIComponent(s.name) };
}
