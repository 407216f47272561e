/**
 * The write cost of one chat reply that generates for a while, measured with the domain code
 * against DynamoDB Local (`npm run capacity`, the bench's cost section): connected (its client
 * stays) and disconnected (its client leaves at once, so the reply persists its progress).
 * Time is scaled 10× down so the measurement takes 3 s, not 30: the progress interval and the
 * lease are scaled with it, so the number of writes is the 30-second reply's.
 */
import type { ChatTurn, LLM, TextStream, Usage } from "../backend/ai/ports.ts";
import { compose, type Ports } from "../backend/compose.ts";
import type { Config } from "../backend/config.ts";

/** 30 s of generation, 10× faster: 3 s at 20 chunks a second (about 80 characters each second). */
export const SCALE = 10;
const SECONDS = 30;
const CHUNKS_PER_SECOND = 20;

/** A model that writes `seconds × perSecond` chunks at a steady pace (the offline model answers at once). */
export class PacedLLM implements LLM {
  readonly name = "paced";
  readonly offline = true;
  constructor(
    private readonly seconds: number,
    private readonly perSecond: number,
  ) {}

  streamText(req: { system: string; turns: ChatTurn[]; signal?: AbortSignal }): TextStream {
    const { seconds, perSecond } = this;
    let finished!: (usage: Usage) => void;
    const usage = new Promise<Usage>((resolve) => (finished = resolve));
    async function* chunks(): AsyncGenerator<string> {
      let sent = 0;
      const start = Date.now();
      try {
        for (; sent < seconds * perSecond && !req.signal?.aborted; sent++) {
          // On a schedule from the start, so timer lateness does not stretch the reply.
          const due = start + ((sent + 1) * 1000) / perSecond;
          await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
          yield " word";
        }
      } finally {
        finished({ inputTokens: 50, outputTokens: sent });
      }
    }
    const iterator = chunks();
    return { [Symbol.asyncIterator]: () => iterator, usage: () => usage };
  }

  async generateJson(): Promise<never> {
    throw new Error("not used");
  }
}

/** The chats domain on `config`'s table with the paced model and scaled progress settings. */
export function pacedChats(config: Config, images: Ports["images"]) {
  const scaled: Config = {
    ...config,
    chatProgressIntervalMs: config.chatProgressIntervalMs / SCALE,
    chatLeaseMs: config.chatLeaseMs / SCALE,
    chatStopPollMs: config.chatStopPollMs / SCALE,
  };
  return compose(scaled, { llm: new PacedLLM(SECONDS / SCALE, CHUNKS_PER_SECOND * SCALE), images }).chats;
}

/** One reply of the paced model in `chatId`: connected (a listener to the end) or left at once. */
export async function pacedReply(chats: ReturnType<typeof pacedChats>, uid: string, chatId: string, connected: boolean) {
  const turn = await chats.prepareTurn(await chats.get(uid, chatId), "Tell me a long story.");
  const run = chats.startReply(turn);
  const listener = run.attach();
  if (connected) for await (const _event of listener.events);
  else listener.leave(0);
  await run.finished;
}
