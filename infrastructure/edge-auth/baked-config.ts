/**
 * Placeholder for the configuration `scripts/build.ts` bakes into the edge bundle (it
 * replaces this module). Unbuilt, there is no key: the handler then refuses every request
 * with a 500 rather than let anything through.
 */
import type { EdgeAuthConfig } from "./config.ts";

export const bakedConfig: EdgeAuthConfig | undefined = undefined;
