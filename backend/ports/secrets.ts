/**
 * In AWS, secrets live in one Secrets Manager secret (JSON), named by `APP_SECRET_ARN`, and
 * are loaded once per cold start into the environment the rest of the code reads. Values
 * already set win (local runs set them directly). Nothing here ever logs a value.
 */
import { getSecret } from "@aws-lambda-powertools/parameters/secrets";

const KNOWN = ["GEMINI_API_KEY", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "FINGERPRINT_SECRET"] as const;

export async function loadAppSecret(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const arn = env.APP_SECRET_ARN;
  if (!arn) return;
  const secret = await getSecret<Record<string, string>>(arn, { transform: "json" });
  if (!secret) throw new Error("APP_SECRET_ARN names an empty secret");
  for (const name of KNOWN) {
    const value = secret[name];
    if (typeof value === "string" && value !== "" && !env[name]) env[name] = value;
  }
}
