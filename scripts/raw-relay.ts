/**
 * The baseline of `npm run chat-latency`: the least a relay of the model's stream can do.
 * Any POST starts one streamGenerateContent call with plain `fetch`, and each `text` of the
 * model's SSE chunks is written at once as our `token` event by a raw node:http writer: no
 * SDK, no routing, no log, no persistence.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform" };

export async function startRawRelay(geminiUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    for await (const _ of req); // the body is not needed
    const upstream = await fetch(`${geminiUrl}/v1beta/models/raw-relay:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": "raw-relay" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "talk" }] }] }),
    });
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const bytes of upstream.body!) {
      buffer += decoder.decode(bytes, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        if (!block.startsWith("data: ")) continue;
        const chunk = JSON.parse(block.slice(6)) as { candidates?: { content?: { parts?: { text?: string }[] } }[] };
        const text = chunk.candidates?.[0]?.content?.parts?.[0]?.text;
        if (text) res.write(`event: token\ndata: ${JSON.stringify({ text })}\n\n`);
      }
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
