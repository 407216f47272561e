/**
 * Our SSE framing, judged by outside clients rather than our own parser: the
 * `eventsource-parser` package for every framing rule, the `eventsource` package as a real
 * browser-like client (reconnects with Last-Event-ID), and real `curl -N`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { EventSource } from "eventsource";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { behaviourApp, hooksFor } from "./support/behaviour-app.ts";
import { nodeTarget, type Target } from "./support/targets.ts";

let target: Target;
let url: string;

before(async () => {
  // The behaviour suite's own app: not the API, so the contract check skips its paths.
  target = await nodeTarget(behaviourApp({ heartbeatMs: 25 }).app, { contract: "test-app" });
  url = target.url!;
});
after(() => target.close());

async function parse(path: string) {
  const res = await target.request(path);
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const ids: string[] = [];
  const parser = createParser({
    onEvent: (e) => events.push(e),
    onComment: (c) => comments.push(c),
    onRetry: (r) => retries.push(r),
    onId: (id) => ids.push(id),
  });
  parser.feed(res.body);
  return { events, comments, retries, ids };
}

describe("eventsource-parser reads our framing", () => {
  test("multi-line data with LF, CRLF and CR arrives as one event with LF line breaks", async () => {
    const { events } = await parse("/v1/events/raw");
    assert.equal(events[0]!.data, "line one\nline two\nline three\nline four");
  });

  test("an empty id resets the last event id", async () => {
    const { events, ids } = await parse("/v1/events/raw");
    assert.equal(events[1]!.event, "empty-id");
    assert.equal(events[1]!.id, "");
    assert.deepEqual(ids, [""]);
  });

  test("comments are comments, and leading spaces in data survive", async () => {
    const { events, comments } = await parse("/v1/events/raw");
    assert.ok(comments.includes("just a comment"));
    assert.equal(events[2]!.data, "  leading spaces");
    assert.equal(events.length, 3);
  });

  test("retry, event types, ids and JSON data", async () => {
    const { events, retries } = await parse("/v1/events?count=3");
    assert.deepEqual(retries, [1500]);
    assert.deepEqual(
      events.map((e) => [e.event, e.id, JSON.parse(e.data)]),
      [1, 2, 3].map((n) => ["tick", String(n), { n }]),
    );
  });

  test("an injected line break never becomes a field", async () => {
    const { events } = await parse("/v1/events/inject?event=x%0D%0Aevent%3A%20evil");
    assert.deepEqual(
      events.map((e) => e.event),
      ["error"],
    );
  });

  test("heartbeat comments flow while the producer is idle", { timeout: 10_000 }, async () => {
    // Prepare: the producer sends one event, then nothing until the client leaves; the
    // heartbeat is every 25 ms. Without heartbeats this waits until the test times out.
    const hooks = hooksFor("heartbeat");
    const res = await target.open("/v1/events/idle?key=heartbeat");
    const events: string[] = [];
    const comments: string[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e.event ?? "message"), onComment: (c) => comments.push(c.trim()) });
    // Act
    let raw = "";
    let ended = true;
    for await (const chunk of res.chunks) {
      raw += chunk;
      parser.feed(chunk);
      if (comments.length >= 2) {
        ended = false;
        break;
      }
    }
    res.cancel();
    await hooks.aborted.promise;
    // Assess: the stream stayed open, and after the one event came only whole heartbeat
    // comment frames (`: heartbeat` and a blank line), which clients ignore.
    assert.equal(ended, false, "the stream stayed open while the producer was idle");
    assert.deepEqual(events, ["open"]);
    assert.ok(
      comments.every((c) => c === "heartbeat"),
      `only heartbeats: ${JSON.stringify(comments)}`,
    );
    assert.match(raw, /^event: open\ndata: \{\}\n\n(: heartbeat\n\n){2,}$/);
  });
});

describe("the eventsource client", () => {
  test("reconnects after a dropped stream and resumes from Last-Event-ID without repeats", async () => {
    const source = new EventSource(`${url}/v1/events/resume`);
    const received: string[] = [];
    const lastIds: string[] = [];
    await new Promise<void>((resolve, reject) => {
      source.onmessage = (e) => {
        received.push(e.data);
        lastIds.push(e.lastEventId);
      };
      source.addEventListener("end", () => {
        source.close();
        resolve();
      });
      source.onerror = () => {
        // A dropped stream is expected once; the client reconnects by itself.
        if (received.length === 0) reject(new Error("could not connect"));
      };
    });
    assert.deepEqual(received, ["event 1", "event 2", "event 3", "event 4"]);
    assert.deepEqual(lastIds, ["1", "2", "3", "4"]);
  });
});

describe("curl -N", () => {
  test("prints the first event before the producer has made the last one", async () => {
    const hooks = hooksFor("curl");
    const curl = spawn("curl", ["-N", "-s", `${url}/v1/events?count=3&key=curl`]);
    let output = "";
    const exited = new Promise<number | null>((resolve) => curl.on("close", resolve));
    await new Promise<void>((resolve) => {
      curl.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(`data: {"n":1}\n\n`)) resolve();
      });
    });
    // The producer is still held at its gate: events 2 and 3 do not exist yet.
    assert.doesNotMatch(output, /id: 2/);
    hooks.gate.resolve();
    assert.equal(await exited, 0);
    assert.match(output, /id: 3\ndata: \{"n":3\}\n\n$/);
  });
});
