/**
 * The client IP the rate limits count by comes only from a source the client cannot forge:
 * the peer address, or behind CloudFront the header our edge function sets.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Request } from "../backend/api/http.ts";
import { clientIp } from "../backend/api/identify.ts";

describe("clientIp", () => {
  const request = (remoteAddress: string, headers: Record<string, string>) => ({ remoteAddress, headers }) as unknown as Request;

  test("edge mode trusts only x-viewer-ip, never x-forwarded-for", () => {
    // Prepare
    const spoofed = { "x-forwarded-for": "198.51.100.66" };
    const edge = { authMode: "edge" } as const;

    // Act + Assess
    assert.equal(clientIp(request("127.0.0.1", { ...spoofed, "x-viewer-ip": "2001:db8::7" }), edge), "2001:db8::7");
    assert.equal(clientIp(request("127.0.0.1", spoofed), edge), undefined);
    assert.equal(clientIp(request("127.0.0.1", { "x-viewer-ip": "1.2.3.4, 5.6.7.8" }), edge), undefined);
  });

  test("local and apigw modes use the peer address and ignore headers", () => {
    // Prepare
    const headers = { "x-forwarded-for": "198.51.100.66", "x-viewer-ip": "198.51.100.67" };

    // Act + Assess
    assert.equal(clientIp(request("192.0.2.10", headers), { authMode: "local" }), "192.0.2.10");
    assert.equal(clientIp(request("203.0.113.9", headers), { authMode: "apigw" }), "203.0.113.9");
    assert.equal(clientIp(request("", headers), { authMode: "apigw" }), undefined);
  });
});
