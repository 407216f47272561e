/**
 * Rewrites docs/openapi.json from the contract (backend/api/contract/). `npm test` fails
 * while the committed document differs from what the code generates (test/contract.test.ts).
 *   npm run openapi
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApiDocument } from "../backend/api/contract/openapi.ts";

const path = join(import.meta.dirname, "..", "docs", "openapi.json");
writeFileSync(path, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
console.log(`wrote ${path}`);
