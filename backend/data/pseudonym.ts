/**
 * Keyed hashes that stand in for identifying values we must not store: a friend's
 * fingerprint, a client IP. HMAC-SHA256 with a server secret, so the table alone cannot be
 * used to test guesses.
 */
import { createHmac } from "node:crypto";
import { NotConfiguredError } from "../errors.ts";

function secret(): string {
  const value = process.env.FINGERPRINT_SECRET;
  if (!value) throw new NotConfiguredError("FINGERPRINT_SECRET is not set");
  return value;
}

/** HMAC-SHA256(secret, survey_id + fingerprint), base64url. */
export function fingerprintHash(surveyId: string, fingerprint: string): string {
  return createHmac("sha256", secret())
    .update(surveyId + fingerprint)
    .digest("base64url");
}

/** A stable pseudonym for a client IP, for rate-limit keys (never the raw address). */
export function ipPseudonym(ip: string): string {
  return createHmac("sha256", secret()).update(`ip:${ip}`).digest("base64url").slice(0, 22);
}

/** A stable pseudonym for a uid, for what must outlive the account a while (a deleted account's token refusal). */
export function accountPseudonym(uid: string): string {
  return createHmac("sha256", secret()).update(`account:${uid}`).digest("base64url").slice(0, 32);
}
