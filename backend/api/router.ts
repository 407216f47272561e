/**
 * Method + path-pattern routing. Patterns are compiled once, when routes are added:
 * static paths go into a map, patterns with `:params` into per-length segment lists, so a
 * lookup builds no regex and allocates little.
 *
 * A path that matches no pattern is `none` (404); a path that matches but not for this
 * method is `method` (405, with the methods that would work).
 */
import { BadRequest } from "./errors.ts";

export type Match<T> =
  | { kind: "found"; value: T; params: Record<string, string>; pattern: string }
  | { kind: "method"; allow: string[]; pattern: string }
  | { kind: "none" };

interface Entry<T> {
  pattern: string;
  byMethod: Map<string, T>;
}

interface Dynamic<T> {
  /** Literal segments as strings, parameters as `{ name }`. */
  segments: (string | { name: string })[];
  entry: Entry<T>;
}

const isLiteral = (segment: string | { name: string }): segment is string => typeof segment === "string";

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Strips the optional `/api` prefix CloudFront forwards, so routes are written once. */
export function stripApiPrefix(path: string): string {
  if (path.startsWith("/api")) {
    if (path.length === 4) return "/";
    if (path.charCodeAt(4) === 47 /* / */) return path.slice(4);
  }
  return path;
}

function decodeSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequest("The path contains an invalid percent-encoding", "invalid_path");
  }
}

/**
 * @example
 * const router = new Router<Handler>();
 * router.add("GET", "/v1/surveys/:id", getSurvey);
 * router.match("GET", "/api/v1/surveys/abc"); // { kind: "found", params: { id: "abc" }, … }
 */
export class Router<T> {
  readonly #static = new Map<string, Entry<T>>();
  readonly #dynamic = new Map<number, Dynamic<T>[]>();
  readonly #entries = new Map<string, Entry<T>>();

  add(method: string, pattern: string, value: T): void {
    if (!pattern.startsWith("/")) throw new Error(`Route pattern must start with "/": ${pattern}`);
    let entry = this.#entries.get(pattern);
    if (!entry) {
      entry = { pattern, byMethod: new Map() };
      this.#entries.set(pattern, entry);
      const segments = pattern.split("/").map((s) => (s.startsWith(":") ? { name: s.slice(1) } : s));
      if (segments.every((s) => typeof s === "string")) {
        this.#static.set(pattern, entry);
      } else {
        const list = this.#dynamic.get(segments.length) ?? [];
        list.push({ segments, entry });
        this.#dynamic.set(segments.length, list);
      }
    }
    const upper = method.toUpperCase();
    if (entry.byMethod.has(upper)) throw new Error(`Duplicate route: ${upper} ${pattern}`);
    entry.byMethod.set(upper, value);
  }

  /** Finds the route for a raw (percent-encoded) path; throws `BadRequest` on bad encoding. */
  match(method: string, rawPath: string): Match<T> {
    const path = stripApiPrefix(rawPath);
    const encoded = path.includes("%");
    let entry: Entry<T> | undefined;
    let params = NO_PARAMS;
    if (!encoded) entry = this.#static.get(path);
    if (!entry) {
      const segments = path.split("/");
      if (encoded) {
        for (let i = 0; i < segments.length; i++) segments[i] = decodeSegment(segments[i]!);
        // An encoded "/" (%2F) stays inside its segment: it must not join two static segments.
        if (!segments.some((s) => s.includes("/"))) entry = this.#static.get(segments.join("/"));
      }
      if (!entry) {
        const found = this.#matchDynamic(segments);
        if (!found) return { kind: "none" };
        ({ entry, params } = found);
      }
    }
    const value = entry.byMethod.get(method) ?? (method === "HEAD" ? entry.byMethod.get("GET") : undefined);
    if (value === undefined) return { kind: "method", allow: allowed(entry), pattern: entry.pattern };
    return { kind: "found", value, params, pattern: entry.pattern };
  }

  /** The methods a path answers to, or `undefined` for an unknown path (for OPTIONS). */
  allowed(rawPath: string): string[] | undefined {
    const match = this.match("\u0000", rawPath);
    return match.kind === "method" ? match.allow : undefined;
  }

  #matchDynamic(segments: string[]): { entry: Entry<T>; params: Record<string, string> } | undefined {
    const candidates = this.#dynamic.get(segments.length);
    if (!candidates) return undefined;
    // Checked first, params collected after: a candidate that fails allocates nothing.
    next: for (const candidate of candidates) {
      for (let i = 0; i < segments.length; i++) {
        const want = candidate.segments[i]!;
        if (isLiteral(want) ? want !== segments[i] : segments[i] === "") continue next;
      }
      const params: Record<string, string> = {};
      candidate.segments.forEach((want, i) => {
        if (!isLiteral(want)) params[want.name] = segments[i]!;
      });
      return { entry: candidate.entry, params };
    }
    return undefined;
  }
}

function allowed(entry: Entry<unknown>): string[] {
  const methods = new Set(entry.byMethod.keys());
  if (methods.has("GET")) methods.add("HEAD");
  methods.add("OPTIONS");
  return [...methods].sort();
}
