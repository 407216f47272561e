/** Any path that is no page of ours, and things that are not there (or not for you). */
import { h, replace } from "../dom.ts";
import type { PageContext } from "../router.ts";

export function notFoundPage({ main }: PageContext, why = "There is no page at this address."): void {
  document.title = "Not found · Re:MirAI";
  replace(
    main,
    h("h1", { tabindex: -1, "data-testid": "not-found" }, "Not found"),
    h("p", {}, why),
    h("p", {}, h("a", { href: "/" }, "Go to your home page")),
  );
}
