// Regional object storage (S3 or an S3-compatible server). Keys always start with the tenant id,
// so one tenant's objects can be listed, measured and purged apart from the others'.
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
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
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      }
    },
    close() {
      client.destroy();
    },
  };
}
