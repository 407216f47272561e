import type { Writable } from "node:stream";

/**
 * Resolves when a stream that refused a write can take more, or is gone. Waiting on
 * `close` too matters: a client that disconnects never drains, and the producer must not
 * hang on it (its abort signal tells it why).
 */
export function whenWritable(stream: Writable): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off("drain", done).off("close", done);
      resolve();
    };
    stream.on("drain", done).on("close", done);
  });
}
