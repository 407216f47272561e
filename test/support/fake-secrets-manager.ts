/**
 * A local server that speaks Secrets Manager's wire protocol (AWS JSON 1.1) for one
 * operation, `GetSecretValue`, as the real SDK client sends it: `POST /` with
 * `x-amz-target: secretsmanager.GetSecretValue`, `content-type: application/x-amz-json-1.1`,
 * a SigV4 `authorization` and `{"SecretId": ...}`. Answers as the service does: the secret's
 * `ARN`, `Name`, `SecretString`, `VersionId`, `VersionStages`, `CreatedDate`, or
 * `ResourceNotFoundException` (HTTP 400, `__type`) for an id it does not hold. Every request
 * is recorded, so a test can assert the code under test really asked.
 *
 * @example
 * const secrets = await startFakeSecretsManager({ [arn]: JSON.stringify({ FINGERPRINT_SECRET: "…" }) });
 * env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SecretsRequest {
  target: string | undefined;
  contentType: string | undefined;
  /** The SigV4 scope's service, e.g. `secretsmanager` (from `Credential=.../secretsmanager/aws4_request`). */
  signedFor: string | undefined;
  secretId: string | undefined;
  status: number;
}

export interface FakeSecretsManager {
  url: string;
  requests: SecretsRequest[];
  close(): Promise<void>;
}

const JSON_1_1 = "application/x-amz-json-1.1";

/** `secrets`: full ARN → SecretString. A secret is found by its ARN or its name, as AWS does. */
export async function startFakeSecretsManager(secrets: Record<string, string>): Promise<FakeSecretsManager> {
  const requests: SecretsRequest[] = [];
  const created = Math.floor(Date.now() / 1000);
  const byId = new Map<string, { arn: string; name: string; value: string; versionId: string }>();
  for (const [arn, value] of Object.entries(secrets)) {
    // arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>
    const name = arn.split(":secret:")[1]!.replace(/-[A-Za-z0-9]{6}$/, "");
    const entry = { arn, name, value, versionId: randomUUID() };
    byId.set(arn, entry).set(name, entry);
  }

  const server = createServer(async (req, res) => {
    const body = Buffer.concat(await req.toArray()).toString("utf8");
    const record: SecretsRequest = {
      target: req.headers["x-amz-target"] as string | undefined,
      contentType: req.headers["content-type"],
      signedFor: /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? "")?.[1],
      secretId: undefined,
      status: 400,
    };
    requests.push(record);
    const reply = (status: number, value: unknown) => {
      record.status = status;
      res.writeHead(status, { "content-type": JSON_1_1, "x-amzn-requestid": randomUUID() }).end(JSON.stringify(value));
    };
    const fault = (type: string, message: string) => reply(400, { __type: type, Message: message });
    if (req.method !== "POST" || req.url !== "/") return fault("UnknownOperationException", "Only POST / is served.");
    if (record.contentType !== JSON_1_1) return fault("SerializationException", `Expected ${JSON_1_1}.`);
    if (record.target !== "secretsmanager.GetSecretValue")
      return fault("UnknownOperationException", `${record.target} is not served here.`);
    if (record.signedFor !== "secretsmanager")
      return fault("IncompleteSignatureException", "The request is not signed for secretsmanager.");
    let input: { SecretId?: unknown };
    try {
      input = JSON.parse(body) as { SecretId?: unknown };
    } catch {
      return fault("SerializationException", "The body is not JSON.");
    }
    if (typeof input.SecretId !== "string") return fault("ValidationException", "SecretId is required.");
    record.secretId = input.SecretId;
    const secret = byId.get(input.SecretId);
    if (!secret) return fault("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    reply(200, {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.value,
      VersionId: secret.versionId,
      VersionStages: ["AWSCURRENT"],
      CreatedDate: created,
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
