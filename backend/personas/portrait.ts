/**
 * Step 2's illustrator: a portrait from the card and the trait scores. The model-backed one
 * asks the image model; the offline one draws an SVG from the traits (deterministic: the
 * same persona always gets the same picture). And the portrait's publication: only a public
 * persona's current portrait has a public copy (ports/media.ts explains the keys).
 */
import type { ImageModel } from "../ai/ports.ts";
import type { Media } from "../ports/media.ts";
import type { Trait } from "../surveys/questions.ts";
import type { PersonaCard } from "./model.ts";
import type { PersonaLifecycleStore } from "./lifecycle-store.ts";
import type { PersonaStore } from "./store.ts";

export interface Portrait {
  bytes: Uint8Array;
  contentType: string;
}

export interface Illustrator {
  readonly name: string;
  draw(card: PersonaCard, traits: Record<Trait, number>, signal?: AbortSignal): Promise<Portrait>;
}

export function modelIllustrator(images: ImageModel): Illustrator {
  return {
    name: images.name,
    draw: (card, _traits, signal) =>
      images.generateImage({
        // Only the model-written, schema-checked visual description: no friend's text.
        prompt: `A friendly illustrated portrait, square, no text or letters. ${card.visual_description}`,
        signal,
      }),
  };
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** 1–7 score → 0–1. */
const unit = (score: number) => Math.min(1, Math.max(0, (score - 1) / 6));

export const offlineIllustrator: Illustrator = {
  name: "offline-svg",
  async draw(card, traits) {
    const hue = Math.round(360 * unit(traits.openness));
    const warmth = Math.round(35 + 40 * unit(traits.agreeableness));
    const smile = 6 + 14 * unit(traits.extraversion);
    const eye = 5 + 5 * unit(traits.emotional_stability);
    const tidy = unit(traits.conscientiousness) > 0.5;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512" role="img" aria-label="${escapeXml(card.name)} (offline portrait)">
<rect width="512" height="512" fill="hsl(${hue},60%,88%)"/>
<circle cx="256" cy="250" r="150" fill="hsl(${(hue + 30) % 360},${warmth}%,70%)"/>
<path d="M136 ${tidy ? 170 : 185} Q256 ${tidy ? 60 : 40} 376 ${tidy ? 170 : 185}" stroke="hsl(${hue},40%,30%)" stroke-width="${tidy ? 26 : 34}" fill="none" stroke-linecap="round"/>
<circle cx="206" cy="230" r="${eye.toFixed(1)}" fill="#223"/><circle cx="306" cy="230" r="${eye.toFixed(1)}" fill="#223"/>
<path d="M196 ${300 - smile / 2} Q256 ${(300 + smile).toFixed(1)} 316 ${300 - smile / 2}" stroke="#223" stroke-width="8" fill="none" stroke-linecap="round"/>
<text x="256" y="470" font-family="sans-serif" font-size="22" text-anchor="middle" fill="#445">offline portrait</text>
</svg>`;
    return { bytes: new TextEncoder().encode(svg), contentType: "image/svg+xml" };
  },
};

/**
 * Makes the public copy of a persona's portrait match the persona: a public persona with a
 * portrait has one copy of its current portrait, any other has none. The old copy is deleted
 * before anything is recorded, so a failure half-way never leaves a withdrawn portrait
 * served; the new state is recorded only if the persona is still as read (else it is read
 * again, and a copy made for the stale state is deleted).
 * @example await portraitPublisher(store, media).reconcile(uid); // after a visibility switch
 */
export function portraitPublisher(
  store: Pick<PersonaStore, "find"> & Pick<PersonaLifecycleStore, "setPublicPortrait">,
  media: Pick<Media, "publish" | "remove">,
) {
  return {
    async reconcile(uid: string): Promise<void> {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const persona = await store.find(uid);
        if (!persona) return;
        const wanted = persona.public === true ? persona.current?.illustrationKey : undefined;
        const have = persona.publicPortrait;
        if (have === undefined ? wanted === undefined : have.of === wanted) return;
        if (have) await media.remove([have.key]);
        const next = wanted === undefined ? undefined : { key: await media.publish(wanted), of: wanted };
        if (await store.setPublicPortrait(persona, next)) return;
        if (next) await media.remove([next.key]);
      }
      throw new Error("the persona kept changing while its portrait was being published");
    },
  };
}

export type PortraitPublisher = ReturnType<typeof portraitPublisher>;
