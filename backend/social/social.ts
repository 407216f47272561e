/**
 * Sharing, bound to the persona domain (who may see what), the rate limits and the model:
 * public cards, their Character Card V3 export, and chemistry between two personas.
 */
import type { LLM } from "../ai/ports.ts";
import type { Config } from "../config.ts";
import type { RateLimits } from "../data/rate-limit.ts";
import { NotFoundError, NotReadyError, RateLimitedError } from "../errors.ts";
import { logger } from "../log.ts";
import type { ReadyPersona } from "../personas/model.ts";
import { NO_SUCH_PERSONA, type Personas } from "../personas/personas.ts";
import { cardOf, charaCardOf, plainText, type CharaCardV3, type PublicCard } from "./cards.ts";
import { chemistry, chemistryBlurb, type Blurb, type PairChemistry, type SkipReason } from "./chemistry.ts";

export type SocialSettings = Pick<Config, "mediaBaseUrl" | "chemistryBlurbsPerHour" | "chemistryBlurbTimeoutMs">;

/** @example const social = socialOn(personas, limits, llm, config); */
export function socialOn(personas: Pick<Personas, "visibleTo">, limits: RateLimits, llm: LLM, settings: SocialSettings) {
  /** Someone's persona as an anonymous viewer sees it: public and ready, else NotFoundError. */
  async function shown(personaId: string): Promise<ReadyPersona> {
    const persona = await personas.visibleTo(undefined, personaId);
    if (!persona.current) throw new NotFoundError(NO_SUCH_PERSONA);
    return persona as ReadyPersona;
  }

  /**
   * `me` names the viewer's own persona; any other id must be public or the viewer's own.
   * The viewer's own, not ready yet: NotReadyError (they know it exists); anyone else's
   * unknown, private or unready persona: NotFoundError alike.
   */
  async function forViewer(viewerUid: string, ref: string): Promise<ReadyPersona> {
    const persona = await personas.visibleTo(viewerUid, ref);
    if (!persona.current) throw new NotReadyError("Your persona is not ready yet", "persona_not_ready");
    return persona as ReadyPersona;
  }

  return {
    /** The card everyone may see (the owner included), so caches may share it. */
    publicCard: async (personaId: string): Promise<PublicCard> => cardOf(await shown(personaId), settings.mediaBaseUrl),

    charaCard: async (personaId: string): Promise<CharaCardV3> => charaCardOf(await shown(personaId), settings.mediaBaseUrl),

    /** The viewer's own card in any visibility (`me`), once it is ready. */
    ownCard: async (viewerUid: string): Promise<PublicCard> => cardOf(await forViewer(viewerUid, "me"), settings.mediaBaseUrl),

    ownCharaCard: async (viewerUid: string): Promise<CharaCardV3> => charaCardOf(await forViewer(viewerUid, "me"), settings.mediaBaseUrl),

    /**
     * Chemistry between personas `ids` as `viewerUid` may see them (NotFoundError otherwise),
     * with a blurb when asked: the model's within the caller's hourly allowance, else offline.
     * @example await social.chemistry(uid, ["me", "q3Zx..."], { blurb: true });
     */
    async chemistry(viewerUid: string, ids: [string, string], options: { blurb: boolean; signal?: AbortSignal }): Promise<PairChemistry> {
      const [a, b] = await Promise.all([forViewer(viewerUid, ids[0]), forViewer(viewerUid, ids[1])]);
      const result = chemistry(a.current, b.current);
      const side = (p: ReadyPersona) => ({ persona_id: p.personaId, name: plainText(p.current.card.name) });
      let blurb: Blurb | null = null;
      if (options.blurb) {
        let skipModel: SkipReason | undefined;
        if (!llm.offline) {
          try {
            await limits.consume(
              { scope: "chemistry-blurb", name: "chemistry_blurbs_per_hour", limit: settings.chemistryBlurbsPerHour, windowSeconds: 3600 },
              { user: viewerUid },
            );
          } catch (error) {
            // The allowance guards the model bill; if it cannot be checked, skip the model rather than the score.
            skipModel = error instanceof RateLimitedError ? "rate_limited" : "limit_unavailable";
            if (skipModel === "limit_unavailable") logger.warn("chemistry blurb allowance unavailable", { error: (error as Error).name });
          }
        }
        blurb = await chemistryBlurb(llm, [a.current.card, b.current.card], result, {
          signal: options.signal,
          timeoutMs: settings.chemistryBlurbTimeoutMs,
          skipModel,
        });
      }
      return { a: side(a), b: side(b), ...result, blurb };
    },
  };
}

export type Social = ReturnType<typeof socialOn>;
