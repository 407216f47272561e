/**
 * A persona's publication and deletion on the single table: the public copy of its portrait
 * recorded only if the persona did not change meanwhile, hiding it at once for a deletion,
 * and deleting its events and itself. Apart from store.ts (the saga) so each stays small;
 * only these store modules hold the persona domain's DynamoDB expressions.
 */
import { keys } from "../data/keys.ts";
import { isConditionFailed, type Table } from "../data/table.ts";
import type { Persona } from "./model.ts";

export function personaLifecycleStore(table: Table) {
  return {
    /**
     * Records the public copy of the portrait (or removes it), only if the persona is still as
     * `persona` was read: same visibility, same current portrait, same publication. False
     * when any of them changed meanwhile (the caller reads again and reconciles again).
     */
    async setPublicPortrait(persona: Persona, next: { key: string; of: string } | undefined): Promise<boolean> {
      const names: Record<string, string> = { "#public": "public" };
      const values: Record<string, unknown> = {};
      const conditions = ["attribute_exists(PK)"];
      if (persona.public === true) {
        conditions.push("#public = :true");
        values[":true"] = true;
      } else {
        conditions.push("(attribute_not_exists(#public) OR #public = :false)");
        values[":false"] = false;
      }
      names["#current"] = "current";
      if (persona.current) {
        conditions.push("#current.illustrationKey = :portrait");
        values[":portrait"] = persona.current.illustrationKey;
      } else conditions.push("attribute_not_exists(#current)");
      if (persona.publicPortrait) {
        conditions.push("publicPortrait.#key = :published");
        names["#key"] = "key";
        values[":published"] = persona.publicPortrait.key;
      } else conditions.push("attribute_not_exists(publicPortrait)");
      if (next) values[":next"] = next;
      try {
        await table.update({
          Key: keys.persona(persona.uid),
          UpdateExpression: next ? "SET publicPortrait = :next" : "REMOVE publicPortrait",
          ConditionExpression: conditions.join(" AND "),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        });
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },

    /**
     * For a deletion, at once: the public id stops naming the persona (its card is 404 from
     * this moment) and the persona is private, so nothing publishes it again.
     */
    async hide(persona: Persona): Promise<void> {
      await table.delete({ Key: keys.personaOwner(persona.personaId) });
      try {
        await table.update({
          Key: keys.persona(persona.uid),
          UpdateExpression: "SET #public = :false",
          ConditionExpression: "attribute_exists(PK)",
          ExpressionAttributeNames: { "#public": "public" },
          ExpressionAttributeValues: { ":false": false },
        });
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    },

    /** Deletes up to `limit` of the persona's status events; `done` when none is left. */
    forgetEvents: (uid: string, limit: number) =>
      table.deleteItemsOf(keys.personaEventsOf(uid).PK, { skPrefix: keys.personaEventsOf(uid).SKPrefix, limit }),

    /** The persona item itself and its public id's pointer (last: it is what names the portraits). */
    async forget(persona: Persona): Promise<void> {
      await table.deleteKeys([keys.personaOwner(persona.personaId), keys.persona(persona.uid)]);
    },
  };
}

export type PersonaLifecycleStore = ReturnType<typeof personaLifecycleStore>;
