/**
 * Sharing: the owner's visibility switch, public cards (and their Character Card V3
 * export), and chemistry between two personas.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Domains } from "../../compose.ts";
import { PersonaId, PersonaRef } from "../../data/ids.ts";
import { NO_SUCH_PERSONA } from "../../personas/personas.ts";
import { BadRequest } from "../errors.ts";
import { jsonBody, respond, type CachePolicy, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { parse, pathId } from "../validate.ts";

const VisibilityInput = z.strictObject({ public: z.boolean() });
const CardFormat = z.enum(["card", "chara_card_v3"]).default("card");
const BlurbFlag = z.enum(["true", "false", "1", "0"]).default("true");

/**
 * Cards are the same for everyone, so CloudFront and browsers may share them: browsers for
 * a minute, the CDN for five, then revalidated cheaply with the ETag. A card made private
 * can therefore linger in caches up to that long; 404s are never cached (`no-store`).
 */
export const CARD_CACHE: CachePolicy = { maxAge: 60, sMaxAge: 300, public: true };

/** A strong ETag over the exact JSON we send: any change to the card changes it. */
function etagOf(body: unknown): string {
  return `"${createHash("sha256").update(JSON.stringify(body)).digest("base64url").slice(0, 27)}"`;
}

function queryValue<S extends z.ZodType>(schema: S, name: string, raw: string | null): z.infer<S> {
  const result = schema.safeParse(raw ?? undefined);
  if (result.success) return result.data;
  throw new BadRequest(`Query parameter ${name} is invalid`, "invalid_query", {
    fields: [{ path: name, message: result.error.issues[0]?.message ?? "invalid" }],
  });
}

export function socialHandlers({ personas, social }: Pick<Domains, "personas" | "social">, callers: Callers) {
  /** PUT /v1/personas/me/visibility `{ "public": true | false }` → the new state. */
  const visibility: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const input = parse(VisibilityInput, await jsonBody(ctx));
    const state = await personas.setVisibility(uid, input.public);
    return respond({ persona_id: state.personaId, public: state.public, card_path: `/v1/personas/${state.personaId}/card` });
  };

  /**
   * GET /v1/personas/:id/card[?format=chara_card_v3]: anyone, public personas only. Never
   * looks at who is asking, so the answer can be cached for everyone; 404 alike for
   * unknown, private and not-yet-ready personas.
   */
  const card: Handler = async (ctx) => {
    const format = queryValue(CardFormat, "format", ctx.query.get("format"));
    const id = pathId(ctx, "id", PersonaId, NO_SUCH_PERSONA);
    if (format === "chara_card_v3") {
      const exported = await social.charaCard(id);
      // A checked persona id (base64url): safe inside a header.
      const filename = `remirai-${id}-v${exported.data.character_version}.json`;
      return respond(exported, {
        etag: etagOf(exported),
        cache: CARD_CACHE,
        headers: { "content-disposition": `attachment; filename="${filename}"` },
      });
    }
    const shown = await social.publicCard(id);
    return respond(shown, { etag: etagOf(shown), cache: CARD_CACHE });
  };

  /**
   * GET /v1/personas/:a/chemistry/:b[?blurb=false]: signed-in callers; each side must be
   * public or the caller's own (`me` names the caller's own), else 404. Not cached: what a
   * caller may see depends on who they are, and the blurb may be the model's.
   */
  const chemistry: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const blurb = queryValue(BlurbFlag, "blurb", ctx.query.get("blurb"));
    const ids: [string, string] = [pathId(ctx, "a", PersonaRef, NO_SUCH_PERSONA), pathId(ctx, "b", PersonaRef, NO_SUCH_PERSONA)];
    const result = await social.chemistry(uid, ids, {
      blurb: blurb === "true" || blurb === "1",
      signal: ctx.req.signal,
    });
    return respond(result);
  };

  return { visibility, card, chemistry };
}
