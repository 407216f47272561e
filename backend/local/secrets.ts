/**
 * Secrets of the local stack: the fingerprint HMAC secret and the ES256 key pair of our
 * JWTs. `./run.sh` keeps them in `$DATA_DIR/secrets.json` (mode 0600, `.data/` is not
 * committed) so tokens and fingerprint hashes survive a restart; the test run makes fresh
 * ones and writes nothing. Deployed, they come from the environment instead.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

const LocalSecrets = z.object({
  FINGERPRINT_SECRET: z.string().min(32),
  JWT_PRIVATE_KEY: z.string().startsWith("-----BEGIN PRIVATE KEY-----"),
  JWT_PUBLIC_KEY: z.string().startsWith("-----BEGIN PUBLIC KEY-----"),
});
export type LocalSecrets = z.infer<typeof LocalSecrets>;

/** A random 32-byte fingerprint secret and a P-256 key pair (PKCS#8 / SPKI PEM). */
export function generateSecrets(): LocalSecrets {
  const { privateKey, publicKey } = generateKeyPairSync("ec", {
    namedCurve: "P-256",
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { FINGERPRINT_SECRET: randomBytes(32).toString("base64url"), JWT_PRIVATE_KEY: privateKey, JWT_PUBLIC_KEY: publicKey };
}

/** Reads `<dataDir>/secrets.json`, creating it (0600) on first start. */
export async function loadOrCreateSecrets(dataDir: string): Promise<LocalSecrets> {
  const file = join(dataDir, "secrets.json");
  try {
    const stored = LocalSecrets.parse(JSON.parse(await readFile(file, "utf8")));
    await chmod(file, 0o600); // in case someone loosened it
    return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`${file} is unreadable or malformed; delete it to make new secrets`, { cause: error });
    }
  }
  const secrets = generateSecrets();
  await mkdir(dataDir, { recursive: true });
  // `wx`: never overwrite a file another start just wrote.
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  return secrets;
}

/**
 * Puts the secrets into `env` where nothing is set yet. The key pair goes in as a unit:
 * half of an operator's own pair next to half of ours would sign tokens nobody can verify.
 */
export function exportSecrets(secrets: LocalSecrets, env: NodeJS.ProcessEnv = process.env): void {
  env.FINGERPRINT_SECRET ||= secrets.FINGERPRINT_SECRET;
  if (!env.JWT_PRIVATE_KEY && !env.JWT_PUBLIC_KEY) {
    env.JWT_PRIVATE_KEY = secrets.JWT_PRIVATE_KEY;
    env.JWT_PUBLIC_KEY = secrets.JWT_PUBLIC_KEY;
  }
}
