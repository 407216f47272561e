/**
 * The media bucket as a port, bound to its bucket and public base URL once. Objects are
 * content-addressed (`portraits/<sha256>.<ext>`): writing the same portrait twice is
 * harmless, and a key never changes meaning, so it can be cached forever.
 */
import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { awsClientSettings } from "../config.ts";
import { reportUnavailable } from "./dependency.ts";

export interface Media {
  /** Stores a portrait; returns its key. */
  putPortrait(bytes: Uint8Array, contentType: string): Promise<string>;
  /** Where clients fetch a key: CloudFront's `/media/*` in AWS, the local S3 locally. */
  url(key: string): string;
}

// Loaded on first upload: only the image step writes, so no other bundle parses the S3 client.
let s3: Promise<{ client: S3Client; PutObjectCommand: typeof import("@aws-sdk/client-s3").PutObjectCommand }> | undefined;
function client() {
  // aws.ts too: it brings the DynamoDB and SQS clients, which a cold start does not load either.
  return (s3 ??= Promise.all([import("@aws-sdk/client-s3"), import("./aws.ts")]).then(([{ S3Client, PutObjectCommand }, aws]) => ({
    client: reportUnavailable(new S3Client(aws.awsClientOptions(awsClientSettings())), "s3"),
    PutObjectCommand,
  })));
}

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/svg+xml": "svg" };

/** Where clients fetch a media key under `baseUrl`. */
export function mediaUrl(baseUrl: string, key: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${key}`;
}

/** @example const media = mediaBucket(config.mediaBucket, config.mediaBaseUrl); */
export function mediaBucket(bucket: string, baseUrl: string): Media {
  return {
    async putPortrait(bytes, contentType) {
      const key = `portraits/${createHash("sha256").update(bytes).digest("hex")}.${EXTENSIONS[contentType] ?? "bin"}`;
      const { client: s3, PutObjectCommand } = await client();
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentType: contentType,
          CacheControl: "public, max-age=31536000, immutable",
        }),
      );
      return key;
    },
    url: (key) => mediaUrl(baseUrl, key),
  };
}
