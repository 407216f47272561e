/**
 * Who is calling, according to `AUTH_MODE` (see docs/decisions.md, "Identity"):
 *
 *   local  `Authorization: Bearer <app JWT>`, else `x-user-uid` (+ `x-user-email`, and
 *          `x-user-name`, percent-encoded UTF-8 like a URL component) as given
 *   edge   `x-remirai-token` (our JWT, forwarded by the Lambda@Edge function) re-verified
 *          here, and its `sub` must equal the `x-user-uid` the edge injected
 *   apigw  `sub`/`email` of the API Gateway authorizer's claims; headers are never read
 *
 * No credentials at all is an anonymous caller (`undefined`); credentials that do not hold
 * up are a 401, never a silent fall-back to anonymous. Nor do those of a deleted account:
 * a token issued before the deletion, and in the other modes any request, for as long as
 * the account's revocation record lives (JWT_TTL_SECONDS, the longest a token lives).
 */
import { isIP } from "node:net";
import { z } from "zod";
import type { Config } from "../config.ts";
import { InvalidTokenError, verifyAppToken } from "../identity/tokens.ts";
import { UserId } from "../data/ids.ts";
import { DisplayName } from "../identity/users.ts";
import { httpErrorFor } from "./domain-errors.ts";
import { Unauthorized } from "./errors.ts";
import type { Request } from "./http.ts";

export type IdentitySettings = Pick<Config, "authMode" | "jwtIssuer" | "jwtAudience" | "jwtTtlSeconds">;

/** Who is calling: the one caller type of the whole API. */
export interface Caller {
  uid: string;
  email: string | undefined;
  /**
   * The display name the identity source vouches for, when it carries one (local mode's
   * `x-user-name`); otherwise the profile has it (`profileOf`).
   */
  name: string | undefined;
  /** How we know: our own JWT (minted at sign-in), a local dev header, a platform authorizer. */
  via: "app_token" | "local_header" | "authorizer";
  /** When our own token was issued (Unix seconds); only for `app_token`. */
  issuedAt?: number;
}

/** Deleted accounts, as the lifecycle domain records them. */
export interface Revocations {
  /** When `uid`'s account was deleted (ms since the epoch), while its tokens are still refused. */
  deletedAt(uid: string): Promise<number | undefined>;
}

const Email = z.email().max(320);
/** Header values are bytes: a name beyond ASCII travels percent-encoded, as `encodeURIComponent` makes it. */
const HeaderName = z
  .string()
  .transform((raw, ctx) => {
    try {
      return decodeURIComponent(raw);
    } catch {
      ctx.addIssue({ code: "custom", message: "is not valid percent-encoded UTF-8" });
      return z.NEVER;
    }
  })
  .pipe(DisplayName);
const LocalHeaders = z.object({ uid: UserId, email: Email.optional(), name: HeaderName.optional() });
const AuthorizerClaims = z.object({ sub: UserId, email: Email.optional().catch(undefined), name: DisplayName.optional().catch(undefined) });

/**
 * The caller, `undefined` when the request carries no identity, or a 401 when it carries
 * one that does not hold up.
 * @example const caller = await identify(ctx.req, config); // undefined: anonymous friend
 */
export async function identify(req: Request, settings: IdentitySettings): Promise<Caller | undefined> {
  switch (settings.authMode) {
    case "local":
      return fromLocalRequest(req, settings);
    case "edge":
      return fromEdgeRequest(req, settings);
    case "apigw":
      return fromAuthorizer(req);
  }
}

/**
 * How every handler learns who is calling: one object, built once from the settings.
 * @example const caller = await callers.required(ctx.req);
 */
export interface Callers {
  /** The caller, or `undefined` for an anonymous request; 401 for credentials that do not hold up. */
  optional(req: Request): Promise<Caller | undefined>;
  /** The caller, or 401. */
  required(req: Request): Promise<Caller>;
  /**
   * `required` with the deleted-account check running beside `work`'s first reads instead of
   * before them (one round trip fewer): `work` gets the check as `cleared`, which starts it
   * (once) and which it must await before it writes anything; its answer, or its error, waits
   * for the check too, so a deleted account's token is 401 and learns nothing either way.
   * @example return callers.requiredAlongside(ctx.req, (caller, cleared) => chats.send(caller.uid, id, text, cleared));
   */
  requiredAlongside<T>(req: Request, work: (caller: Caller, cleared: () => Promise<void>) => Promise<T>): Promise<T>;
  /** The client's IP from a trusted source; without one every such request shares one bucket (strict, never open). */
  ip(req: Request): string;
}

/**
 * `revocations` costs one GetItem (half a read unit) per identified request; anonymous
 * requests pay nothing (docs/decisions.md, "Data lifecycle (issue 14)").
 */
export function callersFor(settings: IdentitySettings, revocations?: Revocations): Callers {
  const optional = async (req: Request) => {
    const caller = await identify(req, settings);
    if (caller && revocations) await refuseDeleted(caller, revocations);
    return caller;
  };
  return {
    optional,
    async required(req) {
      const caller = await optional(req);
      if (!caller) throw new Unauthorized();
      return caller;
    },
    async requiredAlongside(req, work) {
      const caller = await identify(req, settings);
      if (!caller) throw new Unauthorized();
      let check: Promise<void> | undefined;
      const cleared = () => {
        if (!check) {
          check = revocations ? refuseDeleted(caller, revocations) : Promise.resolve();
          // Awaited below on every path; this only keeps an early refusal from being "unhandled".
          check.catch(() => {});
        }
        return check;
      };
      try {
        const result = await work(caller, cleared);
        await cleared();
        return result;
      } catch (error) {
        await cleared();
        throw error;
      }
    },
    ip: (req) => clientIp(req, settings) ?? "unknown",
  };
}

async function refuseDeleted(caller: Caller, revocations: Revocations): Promise<void> {
  const deletedAt = await revocations.deletedAt(caller.uid);
  if (deletedAt === undefined) return;
  // A token minted after the deletion (a new sign-up) is a new account's.
  if (caller.via === "app_token" && caller.issuedAt !== undefined && caller.issuedAt * 1000 > deletedAt) return;
  throw new Unauthorized("This account was deleted", "account_deleted");
}

/** @example const { uid } = await requireCaller(ctx.req, config); */
export async function requireCaller(req: Request, settings: IdentitySettings): Promise<Caller> {
  const caller = await identify(req, settings);
  if (!caller) throw new Unauthorized();
  return caller;
}

/**
 * The client's IP from a source the client cannot forge: the socket (or API Gateway's
 * `sourceIp`), or behind CloudFront the `x-viewer-ip` our edge function set from the viewer
 * address CloudFront saw. Never `x-forwarded-for`. `undefined` when there is none.
 */
export function clientIp(req: Request, settings: Pick<Config, "authMode">): string | undefined {
  const ip = settings.authMode === "edge" ? req.headers["x-viewer-ip"] : req.remoteAddress;
  return ip !== undefined && isIP(ip) !== 0 ? ip : undefined;
}

async function fromLocalRequest(req: Request, settings: IdentitySettings): Promise<Caller | undefined> {
  const bearer = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
  if (bearer !== undefined) return fromAppToken(bearer, settings);
  const uid = req.headers["x-user-uid"];
  if (uid === undefined) return undefined;
  const local = LocalHeaders.safeParse({ uid, email: req.headers["x-user-email"], name: req.headers["x-user-name"] });
  if (!local.success) throw new Unauthorized("x-user-uid, x-user-email or x-user-name is malformed");
  return { uid: local.data.uid, email: local.data.email, name: local.data.name, via: "local_header" };
}

async function fromEdgeRequest(req: Request, settings: IdentitySettings): Promise<Caller | undefined> {
  const token = req.headers["x-remirai-token"];
  const uid = req.headers["x-user-uid"];
  const email = req.headers["x-user-email"];
  if (token === undefined) {
    // The edge deletes every client x-user-* header; one arriving without a token did not
    // come through it (or the edge is broken). Refuse rather than guess.
    if (uid !== undefined || email !== undefined) throw new Unauthorized("Identity headers without a verified token");
    return undefined;
  }
  const caller = await fromAppToken(token, settings);
  if (uid !== caller.uid || (email !== undefined && email !== caller.email)) {
    throw new Unauthorized("The identity headers do not match the token");
  }
  return caller;
}

function fromAuthorizer(req: Request): Caller | undefined {
  if (req.authorizer?.sub === undefined) return undefined;
  const claims = AuthorizerClaims.safeParse(req.authorizer);
  if (!claims.success) throw new Unauthorized("The authorizer's subject is not a usable user id");
  return { uid: claims.data.sub, email: claims.data.email, name: claims.data.name, via: "authorizer" };
}

async function fromAppToken(token: string, settings: IdentitySettings): Promise<Caller> {
  try {
    const claims = await verifyAppToken(token, settings);
    return { uid: claims.sub, email: claims.email, name: undefined, via: "app_token", issuedAt: claims.iat };
  } catch (error) {
    if (error instanceof InvalidTokenError) throw new Unauthorized(`Invalid token: ${error.message}`);
    throw httpErrorFor(error) ?? error;
  }
}
