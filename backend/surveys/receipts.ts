/**
 * A friend's receipt for their answer: shown once in the 201, kept by their device, and the
 * only way to withdraw the answer. `<answer id>.<secret>`: the answer id (the fingerprint's
 * HMAC, already the answer's key) finds the answer with one read; the 256-bit secret proves
 * the holder. Only the secret's SHA-256 is stored, and it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const SHAPE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

const hashOf = (secret: string) => createHash("sha256").update(secret).digest("base64url");

/** A new receipt for the answer `answerId`, and the hash to store with it. */
export function newReceipt(answerId: string): { receipt: string; hash: string } {
  const secret = randomBytes(32).toString("base64url");
  return { receipt: `${answerId}.${secret}`, hash: hashOf(secret) };
}

/** The answer a receipt names and its secret's hash; undefined for anything we could not have issued. */
export function readReceipt(receipt: string): { answerId: string; hash: string } | undefined {
  const match = SHAPE.exec(receipt);
  return match ? { answerId: match[1]!, hash: hashOf(match[2]!) } : undefined;
}

/** Whether two stored-form hashes are equal, in time that does not depend on where they differ. */
export function sameHash(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
