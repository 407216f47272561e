/**
 * Client-side routes on the History API. Every path without a file extension is served
 * index.html (CloudFront's SpaRoutingFunction; locally backend/local/front.ts), so a
 * reload or a shared link lands on the same page.
 */
export interface PageContext {
  main: HTMLElement;
  params: Record<string, string>;
  /** Aborts when the user leaves the page: streams and timers stop with it. */
  signal: AbortSignal;
}

export type Page = (ctx: PageContext) => Promise<void> | void;

export interface Route {
  pattern: RegExp;
  names: string[];
  page: Page;
}

/** `route("/chats/:id", chatPage)` */
export function route(path: string, page: Page): Route {
  const names: string[] = [];
  const source = path.replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { pattern: new RegExp(`^${source}/?$`), names, page };
}

export function match(routes: Route[], path: string): { page: Page; params: Record<string, string> } | undefined {
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    let params: Record<string, string>;
    try {
      params = Object.fromEntries(r.names.map((name, i) => [name, decodeURIComponent(m[i + 1]!)]));
    } catch {
      return undefined;
    }
    return { page: r.page, params };
  }
  return undefined;
}

let render: (() => void) | undefined;

/** Goes to `path` without a page load. */
export function go(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render?.();
}

/** Renders the current path now and after every navigation; same-origin links navigate in place. */
export function startRouter(show: () => void): void {
  render = show;
  addEventListener("popstate", show);
  document.addEventListener("click", (event) => {
    const link = (event.target as Element | null)?.closest?.("a");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (link.target || link.hasAttribute("download") || link.origin !== location.origin || link.pathname.startsWith("/api/")) return;
    event.preventDefault();
    go(link.pathname + link.search);
  });
  show();
}
