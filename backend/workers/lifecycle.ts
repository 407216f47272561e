/** Lambda entry: deletions too large for their request (SQS lifecycle queue, buffered). */
import { compose } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { loadAppSecret } from "../ports/secrets.ts";
import { jobHandler } from "./job-handler.ts";

// Before anything is built: the uid pseudonyms need the fingerprint key from the secret.
await loadAppSecret();
const { lifecycle } = compose(loadConfig());

export const handler = jobHandler(lifecycle.continueJob);
