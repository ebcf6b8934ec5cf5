// Regional object storage (S3 or an S3-compatible server). Keys always start with the tenant id,
// so one tenant's objects can be listed, measured and purged apart from the others'.
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { Config } from '../config.js';

export interface Storage {
  readonly client: S3Client;
  readonly bucket: string;
  put(key: string, body: PutObjectCommandInput['Body'], contentType?: string): Promise<void>;
  get(key: string): Promise<Readable>;
  ping(): Promise<void>;
  ensureBucket(): Promise<void>;
  close(): void;
}

/** What bucketFor reads of a tenant: its declaration's optional `storage.bucket`. */
export interface BucketOwner {
  readonly declaration: { readonly storage?: { readonly bucket?: string } | undefined };
}

/**
 * The bucket holding a tenant's documents: the one its declaration names (`storage.bucket`), else
 * the regional bucket. Keys carry the tenant prefix in either (tenantKey). Every documents and
 * offboarding S3 call goes through this, never `storage.bucket` directly.
 */
export function bucketFor(storage: Pick<Storage, 'bucket'>, tenant: BucketOwner): string {
  return tenant.declaration.storage?.bucket ?? storage.bucket;
}

export class BucketError extends Error {
  override readonly name = 'BucketError';
}

/**
 * Makes sure a bucket (the regional one, or a tenant's own) is there: HeadBucket, CreateBucket when
 * S3 answers that it does not exist (dev, tests, a store that lets Portique create buckets). Anything else (the bucket
 * belongs to another account, the credentials may not create it) is a BucketError saying so.
 */
export async function ensureBucketExists(storage: Pick<Storage, 'client'>, bucket: string): Promise<'exists' | 'created'> {
  const status = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const reason = (e: unknown) => (e as { name?: string })?.name ?? String(e);
  try {
    await storage.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(10_000) });
    return 'exists';
  } catch (error) {
    const code = status(error);
    if (code !== 404) {
      throw new BucketError(`bucket ${bucket} is not usable by Portique (HeadBucket answered ${code ?? reason(error)}${code === 403 ? ': it belongs to someone else or the credentials may not read it' : ''})`);
    }
  }
  try {
    await storage.client.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(10_000) });
    return 'created';
  } catch (error) {
    throw new BucketError(`bucket ${bucket} does not exist and could not be created (${reason(error)}): create it in the object storage, then apply again`);
  }
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** Every object under `prefix` in `bucket`, page by page, in S3's (byte) order of keys. */
export async function* listObjects(storage: Pick<Storage, 'client'>, bucket: string, prefix: string): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await storage.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: Number(o.Size ?? 0), lastModified: o.LastModified ?? new Date(0) };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** `<tenantId>/<part>/<part>`: the only way code builds an object key. */
export function tenantKey(tenantId: string, ...parts: string[]): string {
  if (parts.some((p) => p === '' || p.includes('..'))) throw new TypeError('invalid object key part');
  return [tenantId, ...parts].join('/');
}

export function createStorage(s3: Config['s3']): Storage {
  const client = new S3Client({
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // Checksums only where S3 requires them: with the default ('WHEN_SUPPORTED') the SDK sends
    // aws-chunked bodies, which some S3-compatible servers (s3rver) store undecoded, corrupting
    // the object. test/platform/storage.test.ts compares the bytes read back.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const bucket = s3.bucket;
  return {
    client,
    bucket,
    async put(key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    },
    async get(key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return out.Body as Readable;
    },
    async ping() {
      await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(2000) });
    },
    async ensureBucket() {
      await ensureBucketExists({ client }, bucket);
    },
    close() {
      client.destroy();
    },
  };
}
