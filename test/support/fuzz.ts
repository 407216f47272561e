/**
 * Seeds for the bounded fuzz runs inside `npm test`: a fixed one (the same cases every run,
 * so a regression is caught the same way twice) and a fresh random one (new ground each run),
 * both printed by fast-check when a property fails, so any failure can be replayed with
 * `FUZZ_SEED=<seed>`.
 */
import fc from "fast-check";

export const FIXED_SEED = 20261130;

/** The seeds this run uses: FUZZ_SEED alone when set, else the fixed one and a random one. */
export function fuzzSeeds(): number[] {
  const chosen = process.env.FUZZ_SEED;
  if (chosen !== undefined && chosen !== "") return [Number(chosen)];
  return [FIXED_SEED, Math.floor(Math.random() * 2 ** 31)];
}

/**
 * Checks `property` `numRuns` times in all, split over the seeds; a failure names its seed.
 * @example await checkProperty(fc.asyncProperty(bytes, async (b) => …), 200);
 */
export async function checkProperty<T>(property: fc.IAsyncPropertyWithHooks<T>, numRuns: number): Promise<void> {
  const seeds = fuzzSeeds();
  for (const seed of seeds) {
    try {
      await fc.assert(property, { numRuns: Math.ceil(numRuns / seeds.length), seed });
    } catch (error) {
      throw new Error(`fuzz failure with FUZZ_SEED=${seed}: ${(error as Error).message}`, { cause: error });
    }
  }
}
