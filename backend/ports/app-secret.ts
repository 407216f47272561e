/**
 * The shape of the app's one Secrets Manager secret (backend/ports/secrets.ts reads it).
 * A module of its own so that zod is loaded only by a process that has a secret to read.
 */
import { z } from "zod";

/**
 * The secret's JSON keys. Without the key pair nobody can sign in or be recognised, without
 * the fingerprint key no friend can answer: those are required. Without a Gemini key the AI
 * providers are the offline ones, labelled as such (a documented choice), so it may be empty.
 * The same rules as the local stack's secrets (backend/local/secrets.ts).
 */
export const AppSecret = z.object({
  JWT_PRIVATE_KEY: z.string().startsWith("-----BEGIN PRIVATE KEY-----"),
  JWT_PUBLIC_KEY: z.string().startsWith("-----BEGIN PUBLIC KEY-----"),
  FINGERPRINT_SECRET: z.string().min(32),
  GEMINI_API_KEY: z.string().optional(),
});
export type AppSecret = z.infer<typeof AppSecret>;
export const APP_SECRET_KEYS = Object.keys(AppSecret.shape) as ReadonlyArray<keyof AppSecret>;
