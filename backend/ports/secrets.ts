/**
 * In AWS, secrets live in one Secrets Manager secret (JSON), named by `APP_SECRET_ARN`, and
 * are loaded once per cold start — by every entry (the API process, the API's Lambda
 * handlers, the three workers), before anything that reads them is built — into the
 * environment the rest of the code reads. Values already set win (local runs set them
 * directly, and set no `APP_SECRET_ARN`).
 *
 * A named secret that cannot be read, or lacks a key, fails the start: one log line, then
 * a throw, so Lambda reports an init failure instead of a server that answers 503 forever.
 * Nothing here ever logs or throws a value.
 */
import { logger } from "../log.ts";
import type { AppSecret } from "./app-secret.ts";

/**
 * Cold start must finish inside Lambda's 10 s init phase: 3 attempts of at most 1 s to
 * connect and 2 s to answer stay well inside it. Without `throwOnRequestTimeout` the SDK only
 * warns when `requestTimeout` passes, and waits on.
 */
const CLIENT_CONFIG = { maxAttempts: 3, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true } };

/** The secret could not be loaded; the message names why, never a value. */
export class AppSecretError extends Error {
  override name = "AppSecretError";
}

interface ErrorLog {
  error(message: string, attributes: Record<string, unknown>): void;
}

/**
 * @example
 * await loadAppSecret();                 // first thing an entry does
 * const app = createApi(loadConfig());   // now sees JWT_*, FINGERPRINT_SECRET, GEMINI_API_KEY
 */
export async function loadAppSecret(env: NodeJS.ProcessEnv = process.env, log: ErrorLog = logger): Promise<void> {
  const arn = env.APP_SECRET_ARN;
  if (!arn) return;
  let secret: AppSecret;
  try {
    // zod and the schema with the client: a process without a secret (local runs, tests) loads neither.
    const [text, { AppSecret }] = await Promise.all([readSecretString(arn), import("./app-secret.ts")]);
    secret = parseSecret(text, AppSecret);
  } catch (error) {
    const cause = (error as Error).cause as Error | undefined;
    // The ARN names the secret, it is not one; the reason is the SDK's or ours, never a value.
    log.error("app secret not loaded: the process cannot start", {
      secret_arn: arn,
      error: cause?.name ?? (error as Error).name,
      reason: (error as Error).message,
    });
    throw error instanceof AppSecretError ? error : new AppSecretError(`APP_SECRET_ARN could not be read: ${(error as Error).message}`);
  }
  for (const name of ["FINGERPRINT_SECRET", "GEMINI_API_KEY"] as const) {
    const value = secret[name];
    if (value && !env[name]) env[name] = value;
  }
  // The key pair goes in as a unit: half of one pair next to half of another signs tokens
  // nobody can verify.
  if (!env.JWT_PRIVATE_KEY && !env.JWT_PUBLIC_KEY) {
    env.JWT_PRIVATE_KEY = secret.JWT_PRIVATE_KEY;
    env.JWT_PUBLIC_KEY = secret.JWT_PUBLIC_KEY;
  }
}

/**
 * Powertools Parameters over the SDK's Secrets Manager client (which honours
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`). Loaded on demand: a process without a secret to read
 * (local runs, tests) never parses the client.
 */
async function readSecretString(arn: string): Promise<string> {
  const { SecretsProvider } = await import("@aws-lambda-powertools/parameters/secrets");
  // A provider of our own, not the shared default: the client gets our timeouts.
  const value = await new SecretsProvider({ clientConfig: CLIENT_CONFIG }).get(arn);
  if (typeof value !== "string" || value === "") throw new AppSecretError("the secret has no string value (SecretString)");
  return value;
}

/** Not Powertools' `json` transform: its parse error quotes the start of the text, a value. */
function parseSecret(text: string, schema: typeof AppSecret): AppSecret {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppSecretError("the secret's value is not JSON");
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const keys = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".") || "(the value)"))];
  throw new AppSecretError(`the secret lacks or has malformed keys: ${keys.join(", ")}`);
}
