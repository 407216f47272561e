/**
 * The local stack's one origin, as CloudFront serves the deployed one (docs/decisions.md,
 * "Web client (issue 16)"):
 *
 *   /api/*                          → the API (its router strips /api)
 *   /v1/*, /healthz, /readyz        → the API too: a local convenience (curl lines, tests)
 *   a file of the web build         → that file (hashed assets cached for a year)
 *   any other path without an ext.  → index.html: a client route (CloudFront's SpaRoutingFunction)
 *   any other path                  → 404
 *
 * It wraps the API app in the core's own contract, so the Lambda code path never serves
 * files. `/config.json` is written here from the settings (the deployed one by the build).
 */
import { readFile, realpath, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import type { Config } from "../config.ts";
import type { App, Request, ResponseWriter } from "../api/http.ts";
import { contentSecurityPolicy } from "../../web/csp.ts";

const API_PATH = /^\/(?:api(?:\/|$)|v1\/|healthz$|readyz$)/;

/** Exactly the SpaRoutingFunction's test (infrastructure/template.yaml): no extension, a client route. */
export const isClientRoute = (path: string): boolean => !/\.[A-Za-z0-9]+$/.test(path);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

export interface WebClientOptions {
  /** The web build (`dist/web`). */
  dir: string;
  config: Pick<Config, "authMode" | "googleClientId" | "mediaBaseUrl" | "publicBaseUrl">;
}

/** What the app reads at start: which sign-in to offer. */
export function clientConfig(config: WebClientOptions["config"]) {
  return { local_sign_in: config.authMode === "local", google_client_id: config.googleClientId || null };
}

/** @example serve(withWebClient(createApi(config), { dir: "dist/web", config }), { port, host }) */
export function withWebClient(api: App, { dir, config }: WebClientOptions): App {
  const media = new URL(config.mediaBaseUrl).origin;
  const headers = {
    "content-security-policy": contentSecurityPolicy({
      google: Boolean(config.googleClientId),
      imageOrigins: media === new URL(config.publicBaseUrl).origin ? [] : [media],
    }),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
  };
  const settings = JSON.stringify(clientConfig(config));

  return async (req, writer) => {
    if (API_PATH.test(req.path)) return api(req, writer);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return send(req, writer, 405, { ...headers, allow: "GET, HEAD", "content-type": TYPES[".json"]! }, errorBody("method_not_allowed"));
    }
    if (req.path === "/config.json") {
      return send(req, writer, 200, { ...headers, "content-type": TYPES[".json"]!, "cache-control": "no-cache" }, settings);
    }
    const file = (await fileAt(dir, req.path)) ?? (isClientRoute(req.path) ? join(dir, "index.html") : undefined);
    const body = file === undefined ? undefined : await readFile(file).catch(() => undefined);
    if (body === undefined) return send(req, writer, 404, { ...headers, "content-type": TYPES[".txt"]! }, "Not found\n");
    const type = TYPES[extname(file!)] ?? "application/octet-stream";
    const cache = req.path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
    return send(req, writer, 200, { ...headers, "content-type": type, "cache-control": cache }, body);
  };
}

/** The regular file `path` names inside `dir`, or undefined: nothing outside `dir`, however encoded or linked. */
async function fileAt(dir: string, path: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.split(/[\\/]/).includes("..")) return undefined;
  try {
    const root = await realpath(dir);
    const file = await realpath(join(root, decoded));
    if (!file.startsWith(root + sep)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function errorBody(code: string): string {
  return JSON.stringify({ error: { code, message: "Only GET and HEAD outside /api", request_id: null } });
}

async function send(req: Request, writer: ResponseWriter, status: number, headers: Record<string, string>, body: string | Buffer) {
  writer.head(status, { ...headers, "content-length": String(Buffer.byteLength(body)) }, false);
  await writer.end(req.method === "HEAD" ? undefined : body);
}
