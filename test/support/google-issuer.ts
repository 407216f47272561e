/**
 * A local stand-in for Google's sign-in: an RSA key pair, its JWKS served over HTTP on
 * 127.0.0.1, and ID tokens shaped like Google's with whatever claims a test chooses.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from "jose";

export const TEST_CLIENT_ID = "test-client.apps.googleusercontent.com";

export interface GoogleIssuer {
  issuer: string;
  jwksUrl: string;
  kid: string;
  /** The published key, as an attacker could fetch it. */
  publicKey: CryptoKey;
  /** A Google-like ID token: RS256, valid for an hour, for `TEST_CLIENT_ID`, e-mail verified. */
  idToken(claims?: JWTPayload, options?: { key?: CryptoKey; kid?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startGoogleIssuer(): Promise<GoogleIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = "test-key-1";
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] });
  const server = createServer((req, res) => {
    if (req.url !== "/oauth2/v3/certs") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(jwks);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = "https://accounts.google.test";

  return {
    issuer,
    jwksUrl: `${base}/oauth2/v3/certs`,
    kid,
    publicKey,
    async idToken(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: issuer,
        aud: TEST_CLIENT_ID,
        sub: "110169484474386276334",
        email: "mirai@example.com",
        email_verified: true,
        name: "Mirai Tester",
        picture: "https://lh3.googleusercontent.test/a/photo",
        iat: now,
        exp: now + 3600,
        ...claims,
      })
        .setProtectedHeader({ alg: "RS256", kid: options.kid ?? kid, typ: "JWT" })
        .sign(options.key ?? privateKey);
    },
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
}
