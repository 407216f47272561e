/** Health, sign-in and the caller's profile. */
import { z } from "zod";
import { DisplayName } from "../../identity/names.ts";
import { operation } from "./operation.ts";
import { named, Timestamp } from "./schemas.ts";

const Health = named("Health", z.strictObject({ status: z.literal("ok") }));
const Readiness = named(
  "Readiness",
  z.strictObject({
    status: z.enum(["ready", "unavailable"]),
    checks: z.strictObject(
      Object.fromEntries(["table", "synthesis_queue", "image_queue"].map((name) => [name, z.enum(["ok", "unreachable"])])),
    ),
  }),
  "Whether the table and both saga queues answer.",
);

export const Profile = named(
  "Profile",
  z.strictObject({
    user_id: z.string().describe("`g_<Google subject>` after Google sign-in; local mode: the `x-user-uid` header."),
    email: z.string().nullable(),
    name: z.string().nullable().describe("The display name friends see on the survey."),
    created_at: Timestamp,
  }),
  "The caller's profile.",
);
export type Profile = z.infer<typeof Profile>;

export const GoogleSignIn = named("GoogleSignIn", z.object({ id_token: z.string().min(1).max(8192) }), "A Google ID token.");
export const SignedIn = named(
  "SignedIn",
  z.strictObject({
    token: z.string().describe("Our ES256 JWT: send it as `Authorization: Bearer <token>`."),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().min(1).describe("Seconds until the token expires."),
    user: Profile,
  }),
);
export type SignedIn = z.infer<typeof SignedIn>;

export const ProfileChange = named("ProfileChange", z.strictObject({ name: DisplayName }), "The caller's new display name.");

/** Any OpenAPI 3.1 document; test/contract.test.ts validates ours against the official schema. */
const OpenApiDocument = named("OpenApiDocument", z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }));

export const health = {
  live: operation({
    operationId: "live",
    method: "GET",
    path: "/healthz",
    tag: "health",
    summary: "Liveness: the process serves HTTP",
    auth: "anyone",
    offline: true,
    responses: { 200: { description: "Alive.", body: Health } },
  }),
  ready: operation({
    operationId: "ready",
    method: "GET",
    path: "/readyz",
    tag: "health",
    summary: "Readiness: the table and the queues answer",
    auth: "anyone",
    // Reports its dependencies in its own 503 body rather than failing with one.
    offline: true,
    responses: {
      200: { description: "Ready.", body: Readiness },
      503: { description: "A dependency is unreachable.", body: Readiness, headers: ["retry-after"] },
    },
  }),
  openapi: operation({
    operationId: "openapi",
    method: "GET",
    path: "/openapi.json",
    tag: "health",
    summary: "This document",
    description: "The OpenAPI 3.1 document, generated from the schemas the handlers validate with. Cacheable; revalidate with its ETag.",
    auth: "anyone",
    offline: true,
    responses: {
      200: { description: "The document.", body: OpenApiDocument, headers: ["etag"] },
      304: { description: "Unchanged since the ETag sent.", headers: ["etag"] },
    },
  }),
};

export const identity = {
  signIn: operation({
    operationId: "signInWithGoogle",
    method: "POST",
    path: "/v1/auth/google",
    tag: "identity",
    summary: "Exchange a Google ID token for our JWT",
    description: "Creates the user on first sign-in, refreshes the provider's name and e-mail on every later one.",
    auth: "anyone",
    body: GoogleSignIn,
    responses: { 200: { description: "Our token and the user.", body: SignedIn } },
    // A Google ID token that does not verify; too many attempts from one IP; the same account's deletion still running.
    errors: ["unauthorized", "rate_limited", "account_deletion_in_progress"],
  }),
  me: operation({
    operationId: "getMe",
    method: "GET",
    path: "/v1/me",
    tag: "identity",
    summary: "The caller's profile",
    auth: "user",
    responses: { 200: { description: "The profile.", body: Profile } },
    // A signed token whose user is gone.
    errors: ["not_found"],
  }),
  updateMe: operation({
    operationId: "updateMe",
    method: "PUT",
    path: "/v1/me",
    tag: "identity",
    summary: "Choose the display name friends see",
    auth: "user",
    body: ProfileChange,
    responses: { 200: { description: "The profile as it is now.", body: Profile } },
    errors: ["not_found"],
  }),
};
