/**
 * Helpers for the data-lifecycle tests: whole-table and whole-bucket reads (a Scan is fine
 * in a test: it is what proves nothing is left), owners with ready personas and chats made
 * through HTTP, and waiting for a deletion job to end.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { keys } from "../../backend/data/keys.ts";
import { documentClient } from "../../backend/data/documents.ts";
import { as, ownerWithAnswers, sseEvents } from "./saga.ts";
import type { Target } from "./targets.ts";

export type Item = Record<string, unknown>;

/** Every item of the table (a test may Scan; the backend never does). */
export async function scanAll(tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }));
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Every object key of the bucket. */
export async function listBucket(bucket: string): Promise<string[]> {
  const s3 = new S3Client({ forcePathStyle: true });
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    found.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  s3.destroy();
  return found;
}

/** Whether the item, read as text (keys and every attribute), names any of `ids`. */
export const mentions = (item: Item, ids: string[]): boolean => {
  const text = JSON.stringify(item);
  return ids.some((id) => text.includes(id));
};

export const keyOf = (item: Item) => `${item.PK} | ${item.SK}`;

/** Polls until `condition` holds or `ms` pass (then fails, naming what was awaited). */
export async function eventually(what: string, condition: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Until the deletion job's record is gone: its last pass ended. */
export async function jobEnded(tableName: string, kind: string, id: string): Promise<void> {
  const key = keys.lifecycleJob(kind, id);
  await eventually(`the ${kind} deletion job ended`, async () => {
    const items = await scanAll(tableName);
    return !items.some((i) => i.PK === key.PK && i.SK === key.SK);
  });
}

/** A new owner with a survey (3 answers, own picks) and a ready persona, made public. */
export async function publicOwner(api: Target) {
  const { uid, surveyId } = await ownerWithAnswers(api, 3);
  const self = await api.request(`/v1/surveys/${surveyId}/self`, {
    method: "PUT",
    headers: as(uid),
    body: JSON.stringify({ answers: { adjectives: ["kind", "calm", "brave", "wise", "witty"] } }),
  });
  assert.equal(self.status, 200, self.body);
  assert.equal((await api.request("/v1/personas/me", { method: "POST", headers: as(uid) })).status, 202);
  const view = await personaWhenReady(api, uid);
  const visible = await api.request("/v1/personas/me/visibility", {
    method: "PUT",
    headers: as(uid),
    body: JSON.stringify({ public: true }),
  });
  assert.equal(visible.status, 200, visible.body);
  const card = JSON.parse((await api.request(`/v1/personas/${view.persona_id}/card`)).body);
  return { uid, surveyId, personaId: view.persona_id as string, portraitUrl: card.illustration_url as string };
}

export async function personaWhenReady(api: Target, uid: string) {
  let view: Record<string, any> = {};
  await eventually(
    `${uid}'s persona is ready`,
    async () => {
      view = JSON.parse((await api.request("/v1/personas/me", { headers: as(uid) })).body);
      if (view.status === "failed") assert.fail(`persona failed: ${view.reason}`);
      return view.status === "ready";
    },
    60_000,
  );
  return view;
}

/** A chat of `uid` with persona `personaId` (own: "me"), and `turns` messages sent, each reply complete. */
export async function chatWith(api: Target, uid: string, personaId: string, turns: number): Promise<string> {
  const opened = await api.request("/v1/chats", { method: "POST", headers: as(uid), body: JSON.stringify({ persona_id: personaId }) });
  assert.equal(opened.status, 201, opened.body);
  const chatId = JSON.parse(opened.body).chat_id as string;
  for (let i = 0; i < turns; i++) {
    const res = await fetch(`${api.url}/v1/chats/${chatId}/messages`, {
      method: "POST",
      headers: { ...as(uid), accept: "text/event-stream" },
      body: JSON.stringify({ text: `Message ${i} from ${uid.slice(0, 8)} ${randomUUID().slice(0, 4)}` }),
    });
    assert.equal(res.status, 200);
    const events = await sseEvents(res);
    assert.equal(events.find((e) => e.event === "stored")?.data.status, "complete");
  }
  return chatId;
}
