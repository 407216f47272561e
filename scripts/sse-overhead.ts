/**
 * What SSE_FLUSH_PADDING_BYTES costs: the bytes of one chat reply as the core frames it
 * (message, N token events, stored, done), without padding and padded to a few flush sizes.
 * It runs the real `stream()` with a writer that only counts, so the numbers are the wire's.
 *
 * Usage: node --import tsx scripts/sse-overhead.ts [--tokens 100] [--pad 4096,16384,102400]
 */
import { parseArgs } from "node:util";
import { stream } from "../backend/api/sse.ts";

/** A reply as the chat route sends it; token texts like a model's (a word or two each). */
async function replyBytes(tokens: number, flushPaddingBytes: number): Promise<{ bytes: number; writes: number }> {
  const words = ["Hello", " there", ",", " friend", ".", " Tea", " time", "?", " I", " think"];
  let bytes = 0;
  let writes = 0;
  const reply = stream(async (sse) => {
    let id = 0;
    await sse.send({
      event: "message",
      id: String(++id),
      data: { user_message_id: "0m1abcdefghij_AbCdEfGh", reply_id: "0m1abcdefghik_AbCdEfGi" },
    });
    for (let i = 0; i < tokens; i++) await sse.send({ event: "token", id: String(++id), data: { text: words[i % words.length] } });
    await sse.send({ event: "stored", id: String(++id), data: { reply_id: "0m1abcdefghik_AbCdEfGi", status: "complete" } });
    await sse.send({ event: "done", id: String(++id), data: { usage: { input_tokens: 812, output_tokens: tokens } } });
  });
  await reply.run(
    (chunk) => {
      bytes += Buffer.byteLength(chunk);
      writes++;
    },
    { signal: new AbortController().signal, heartbeatMs: 60_000, maxLifeMs: 60_000, flushPaddingBytes },
  );
  return { bytes, writes };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { tokens: { type: "string", default: "100" }, pad: { type: "string", default: "4096,16384,102400" } },
  });
  const tokens = Number(values.tokens);
  const plain = await replyBytes(tokens, 0);
  console.log(`one reply of ${tokens} token events (${plain.writes} events in all)`);
  console.log(`  no padding          ${String(plain.bytes).padStart(10)} bytes`);
  for (const pad of values.pad.split(",").map(Number)) {
    const padded = await replyBytes(tokens, pad);
    const overhead = padded.bytes - plain.bytes;
    console.log(
      `  padded to ${String(pad).padStart(6)}   ${String(padded.bytes).padStart(10)} bytes   +${overhead} (${(padded.bytes / plain.bytes).toFixed(0)}×)`,
    );
  }
}

await main();
