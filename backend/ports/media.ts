/**
 * The media bucket as a port, bound to its bucket and public base URL once.
 *
 *   private/portraits/<personaId>/<random>.<ext>   every portrait as drawn; never served by
 *                                                  CloudFront (its OAC may read public/* only)
 *   public/portraits/<personaId>/<random>.<ext>    a copy per publication, while the persona is
 *                                                  public; deleted when it goes private
 *
 * A public copy's key is new and unguessable each time a persona is made public, so a URL
 * handed out before a switch to private never works again once its object is deleted (only
 * caches may still hold it, for at most `publicMaxAgeSeconds`). Every key carries the persona
 * id, so a deleted persona's objects are all found by listing its prefixes.
 */
import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { awsClientSettings } from "../config.ts";
import { reportUnavailable } from "./dependency.ts";

export interface Media {
  /** Stores a persona's portrait privately; returns its key. */
  putPortrait(personaId: string, bytes: Uint8Array, contentType: string): Promise<string>;
  /** A public, cacheable copy of a private portrait under a new unguessable key; returns that key. */
  publish(privateKey: string): Promise<string>;
  /** A stored portrait's bytes (the owner's own view of a private one); undefined when gone. */
  read(key: string): Promise<{ bytes: Uint8Array; contentType: string } | undefined>;
  /** Deletes these objects; one already gone is no error. */
  remove(keys: string[]): Promise<void>;
  /** Deletes every object of a persona, private and public; returns how many there were. */
  removePersona(personaId: string): Promise<number>;
  /** Where clients fetch a key: CloudFront's `/media/*` in AWS, the local S3 locally. */
  url(key: string): string;
}

type S3 = typeof import("@aws-sdk/client-s3");

// Loaded on first use: only the image step, the visibility switch and deletion touch the
// bucket, so no other path parses the S3 client.
let s3: Promise<{ client: S3Client; sdk: S3 }> | undefined;
function client() {
  // aws.ts too: it brings the DynamoDB and SQS clients, which a cold start does not load either.
  return (s3 ??= Promise.all([import("@aws-sdk/client-s3"), import("./aws.ts")]).then(([sdk, aws]) => ({
    client: reportUnavailable(new sdk.S3Client(aws.awsClientOptions(awsClientSettings())), "s3"),
    sdk,
  })));
}

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/svg+xml": "svg" };
const PRIVATE = "private/portraits/";
const PUBLIC = "public/portraits/";

/** Where clients fetch a media key under `baseUrl`. */
export function mediaUrl(baseUrl: string, key: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${key}`;
}

/** 16 random bytes: a key nobody can guess from the persona id or an old URL. */
const unguessable = () => randomBytes(16).toString("base64url");

/**
 * @example const media = mediaBucket(config.mediaBucket, config.mediaBaseUrl, { publicMaxAgeSeconds: 3600 });
 */
export function mediaBucket(bucket: string, baseUrl: string, options: { publicMaxAgeSeconds: number }): Media {
  const publicCache = `public, max-age=${options.publicMaxAgeSeconds}, immutable`;

  async function remove(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const { client: s3, sdk } = await client();
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const { Errors = [] } = await s3.send(
        new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }),
      );
      if (Errors.length > 0) throw new Error(`${Errors.length} media objects not deleted (${Errors[0]?.Code})`);
    }
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const { client: s3, sdk } = await client();
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      found.push(...(page.Contents ?? []).map((o) => o.Key!).filter(Boolean));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  return {
    async putPortrait(personaId, bytes, contentType) {
      const key = `${PRIVATE}${personaId}/${unguessable()}.${EXTENSIONS[contentType] ?? "bin"}`;
      const { client: s3, sdk } = await client();
      await s3.send(
        new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType, CacheControl: "private, no-store" }),
      );
      return key;
    },

    async publish(privateKey) {
      if (!privateKey.startsWith(PRIVATE)) throw new Error("only a private portrait can be published");
      const rest = privateKey.slice(PRIVATE.length);
      const personaDir = rest.slice(0, rest.indexOf("/") + 1);
      const ext = rest.slice(rest.lastIndexOf("."));
      const key = `${PUBLIC}${personaDir}${unguessable()}${ext}`;
      const { client: s3, sdk } = await client();
      const source = await s3.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: privateKey }));
      await s3.send(
        new sdk.CopyObjectCommand({
          Bucket: bucket,
          Key: key,
          CopySource: `${bucket}/${privateKey}`,
          MetadataDirective: "REPLACE",
          ContentType: source.ContentType,
          CacheControl: publicCache,
        }),
      );
      return key;
    },

    async read(key) {
      const { client: s3, sdk } = await client();
      try {
        const object = await s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        const bytes = await object.Body!.transformToByteArray();
        return { bytes, contentType: object.ContentType ?? "application/octet-stream" };
      } catch (error) {
        if (error instanceof sdk.NoSuchKey) return undefined;
        throw error;
      }
    },

    remove,

    async removePersona(personaId) {
      const found = (await Promise.all([keysUnder(`${PRIVATE}${personaId}/`), keysUnder(`${PUBLIC}${personaId}/`)])).flat();
      await remove(found);
      return found.length;
    },

    url: (key) => mediaUrl(baseUrl, key),
  };
}
