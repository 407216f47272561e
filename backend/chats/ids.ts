/**
 * Ids that sort by creation time (so a Query in key order is a chat's history in order),
 * strictly increasing within a process even inside one millisecond, and unguessable.
 * Two turns of one chat never interleave (one reply generates at a time), so per-process
 * monotonicity is enough for a chat's messages.
 */
import { randomBytes } from "node:crypto";

let lastMs = 0;
let counter = 0;

/** 9 base-36 chars of time, 4 of a per-millisecond counter, 8 random. */
export function timeOrderedId(now = Date.now()): string {
  if (now <= lastMs) {
    counter += 1;
  } else {
    lastMs = now;
    counter = 0;
  }
  const time = Math.max(now, lastMs).toString(36).padStart(9, "0");
  return `${time}${counter.toString(36).padStart(4, "0")}${randomBytes(6).toString("base64url")}`;
}
