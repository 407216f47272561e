/**
 * The media bucket. Objects are content-addressed (`portraits/<sha256>.<ext>`): writing the
 * same portrait twice is harmless, and a key never changes meaning, so it can be cached
 * forever.
 */
import { createHash } from "node:crypto";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { awsClientSettings } from "../config.ts";
import { awsClientOptions } from "./aws.ts";
import { reportUnavailable } from "./dependency.ts";

// Here rather than in aws.ts: only the image step uploads, and the API bundle stays without S3.
let s3: S3Client | undefined;
const client = () => (s3 ??= reportUnavailable(new S3Client(awsClientOptions(awsClientSettings())), "s3"));

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/svg+xml": "svg" };

export async function putPortrait(bucket: string, bytes: Uint8Array, contentType: string): Promise<string> {
  const key = `portraits/${createHash("sha256").update(bytes).digest("hex")}.${EXTENSIONS[contentType] ?? "bin"}`;
  await client().send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType, CacheControl: "public, max-age=31536000, immutable" }),
  );
  return key;
}

/** Where clients fetch a media key: CloudFront's `/media/*` in AWS, the local S3 locally. */
export function mediaUrl(baseUrl: string, key: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${key}`;
}
