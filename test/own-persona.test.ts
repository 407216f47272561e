/**
 * The caller's own persona, named by `me` or by its id, answers alike on every route that
 * takes one: 422 `persona_not_ready` while it exists but is not ready (the caller knows it
 * exists), 404 when there is none at all — the card, chemistry, and opening a chat.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { as, ownerWithAnswers, sagaStack } from "./support/saga.ts";

describe("the caller's own persona, not ready or not there", () => {
  test("card, chemistry and a chat with `me` (or the own id) are 422 persona_not_ready before it is ready; 404 without one", async () => {
    // Prepare: no workers, so a started saga stays in flight.
    const idle = await sagaStack({}, { workers: false });
    try {
      const { uid } = await ownerWithAnswers(idle.target, 3);
      const started = await idle.target.request("/v1/personas/me", { method: "POST", headers: as(uid) });
      assert.equal(started.status, 202);
      const { persona_id: personaId } = JSON.parse((await idle.target.request("/v1/personas/me", { headers: as(uid) })).body);
      const nobody = `nobody-${randomUUID()}`;
      const ask = (who: string) => [
        idle.target.request("/v1/personas/me/card", { headers: as(who) }),
        idle.target.request("/v1/personas/me/chemistry/me", { headers: as(who) }),
        idle.target.request("/v1/chats", { method: "POST", headers: as(who), body: JSON.stringify({ persona_id: "me" }) }),
      ];

      // Act
      const notReady = await Promise.all([
        ...ask(uid),
        idle.target.request(`/v1/personas/${personaId}/chemistry/me`, { headers: as(uid) }),
      ]);
      const none = await Promise.all(ask(nobody));

      // Assess
      for (const res of notReady) {
        assert.equal(res.status, 422, res.body);
        assert.equal(JSON.parse(res.body).error.code, "persona_not_ready");
      }
      for (const res of none) {
        assert.equal(res.status, 404, res.body);
        assert.equal(JSON.parse(res.body).error.code, "not_found");
      }
    } finally {
      await idle.close();
    }
  });
});
