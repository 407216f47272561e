/**
 * A reply's SSE event ids, the same on every connection and every process: the position in
 * the reply's text the event brings the client to. `message` is 0, a token is the length of
 * the text up to and including it (JavaScript string length), `stored` the final length + 1
 * and `done` + 2 (`error`, replacing both, + 1). A later alternate (regenerate) prefixes its
 * number: `2.0`, `2.17`. So any id a client holds says exactly what it has, and a replay can
 * cut the stored text there whatever chunks it was streamed in.
 */

export interface EventPosition {
  alternate: number;
  offset: number;
}

export function eventId(alternate: number, offset: number): string {
  return alternate === 0 ? String(offset) : `${alternate}.${offset}`;
}

const EVENT_ID = /^(?:(\d{1,3})\.)?(\d{1,7})$/;

/** The position an id names, or undefined when it is not an id this API gives out. */
export function parseEventId(id: string): EventPosition | undefined {
  const match = EVENT_ID.exec(id);
  if (!match) return undefined;
  const alternate = match[1] === undefined ? 0 : Number(match[1]);
  // `0.5` is written `5`: one spelling per position.
  if (match[1] !== undefined && alternate === 0) return undefined;
  return { alternate, offset: Number(match[2]) };
}
