/**
 * Sharing: the owner's visibility switch, persona cards (and their Character Card V3
 * export), and chemistry between two personas.
 */
import { createHash } from "node:crypto";
import type { z } from "zod";
import type { Domains } from "../../compose.ts";
import { api, type Chemistry, type Visibility } from "../contract/index.ts";
import { respond, type CachePolicy, type Handler } from "../framework.ts";
import type { Callers } from "../identify.ts";
import { input } from "./input.ts";
import type { Links } from "./links.ts";

/**
 * Cards are the same for everyone, so CloudFront and browsers may share them: browsers for
 * a minute, the CDN for five, then revalidated cheaply with the ETag. A card made private
 * can therefore linger in caches up to that long; 404s are never cached (`no-store`).
 */
export const CARD_CACHE: CachePolicy = { maxAge: 60, sMaxAge: 300, public: true };

/** The caller's own card (`me`) depends on who asks: the browser may keep it, revalidating every time; no shared cache. */
const OWN_CARD_CACHE: CachePolicy = { maxAge: 0, public: false };

/** A strong ETag over the exact JSON we send: any change to the card changes it. */
function etagOf(body: unknown): string {
  return `"${createHash("sha256").update(JSON.stringify(body)).digest("base64url").slice(0, 27)}"`;
}

export function socialHandlers({ personas, social }: Pick<Domains, "personas" | "social">, callers: Callers, links: Links) {
  /** PUT /v1/personas/me/visibility `{ "public": true | false }` → the new state. */
  const visibility: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { body } = await input(ctx, api.personas.visibility);
    const state = await personas.setVisibility(uid, body.public);
    const view: z.output<typeof Visibility> = {
      persona_id: state.personaId,
      public: state.public,
      card_url: links.api(`/v1/personas/${state.personaId}/card`),
    };
    return respond(view);
  };

  /**
   * GET /v1/personas/:persona_id/card[?format=chara_card_v3]: anyone, public personas only.
   * Never looks at who is asking, so the answer can be cached for everyone; 404 alike for
   * unknown, private and not-yet-ready personas. `me`: the signed-in caller's own, in any
   * visibility (422 until it is ready), kept out of shared caches.
   */
  const card: Handler = async (ctx) => {
    const { params, query } = await input(ctx, api.social.card);
    const own = params.persona_id === "me";
    const uid = own ? (await callers.required(ctx.req)).uid : undefined;
    const cache = own ? OWN_CARD_CACHE : CARD_CACHE;
    if (query.format === "chara_card_v3") {
      const exported = uid ? await social.ownCharaCard(uid) : await social.charaCard(params.persona_id);
      // A persona id we issued (base64url): safe inside a header.
      const filename = `remirai-${exported.data.extensions.remirai.persona_id}-v${exported.data.character_version}.json`;
      return respond(exported, {
        etag: etagOf(exported),
        cache,
        headers: { "content-disposition": `attachment; filename="${filename}"` },
      });
    }
    const shown = uid ? await social.ownCard(uid) : await social.publicCard(params.persona_id);
    return respond(shown, { etag: etagOf(shown), cache });
  };

  /**
   * GET /v1/personas/:persona_id/chemistry/:other_persona_id[?blurb=false]: signed-in
   * callers; each side must be public or the caller's own (`me` names the caller's own),
   * else 404. Not cached: what a caller may see depends on who they are, and the blurb may
   * be the model's.
   */
  const chemistry: Handler = async (ctx) => {
    const { uid } = await callers.required(ctx.req);
    const { params, query } = await input(ctx, api.social.chemistry);
    const result: z.output<typeof Chemistry> = await social.chemistry(uid, [params.persona_id, params.other_persona_id], {
      blurb: query.blurb === "true" || query.blurb === "1",
      signal: ctx.req.signal,
    });
    return respond(result);
  };

  return { visibility, card, chemistry };
}
