// Server-side copy of one stored object. S3's CopyObject takes objects up to 5 GiB; above that the
// copy is a multipart upload whose parts are UploadPartCopy ranges of the source, so no byte
// passes through Portique. A store that does not implement UploadPartCopy (it answers
// NotImplemented, as s3rver does) gets the same parts streamed through: GetObject of the range,
// UploadPart of it, one part in memory at most per part in flight (never the whole object).
// Whatever fails, the multipart upload is aborted: nothing is left half-copied.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { Storage } from '../platform/storage.js';

export interface CopyOptions {
  /** Objects larger than this are copied part by part (S3: 5 GiB, CopyObject's limit). */
  multipartAbove?: number;
  /** Bytes per part (S3: 5 MiB to 5 GiB, at most 10,000 parts). */
  partSize?: number;
}

const MAX_PARTS = 10_000;
const DEFAULT_PART = 512 * 1024 ** 2;
const PARTS_IN_FLIGHT = 4;

const notImplemented = (error: unknown) => {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotImplemented' || e?.Code === 'NotImplemented' || e?.$metadata?.httpStatusCode === 501;
};

/** Copies within one bucket: the tenant's (bucketFor), source and destination keys both under its prefix. */
export async function copyObject(storage: Pick<Storage, 'client'>, bucket: string, source: { key: string; size: number; contentType: string }, destinationKey: string, options: CopyOptions = {}): Promise<'single' | 'multipart'> {
  const { client } = storage;
  const copySource = `${bucket}/${source.key}`;
  if (source.size <= (options.multipartAbove ?? 5 * 1024 ** 3)) {
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: destinationKey, CopySource: copySource }));
    return 'single';
  }
  const partSize = Math.max(options.partSize ?? DEFAULT_PART, Math.ceil(source.size / MAX_PARTS));
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: destinationKey, ContentType: source.contentType }));
  const uploadId = created.UploadId!;
  const ranges: { part: number; start: number; end: number }[] = [];
  for (let start = 0, part = 1; start < source.size; start += partSize, part++) ranges.push({ part, start, end: Math.min(start + partSize, source.size) - 1 });

  let streamed = false;
  async function copyPart(r: { part: number; start: number; end: number }): Promise<CompletedPart> {
    if (!streamed) {
      try {
        const out = await client.send(
          new UploadPartCopyCommand({ Bucket: bucket, Key: destinationKey, UploadId: uploadId, PartNumber: r.part, CopySource: copySource, CopySourceRange: `bytes=${r.start}-${r.end}` }),
        );
        return { PartNumber: r.part, ETag: out.CopyPartResult!.ETag! };
      } catch (error) {
        if (!notImplemented(error)) throw error;
        streamed = true;
      }
    }
    const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: source.key, Range: `bytes=${r.start}-${r.end}` }));
    const out = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: destinationKey, UploadId: uploadId, PartNumber: r.part, Body: body.Body as Readable, ContentLength: r.end - r.start + 1 }),
    );
    return { PartNumber: r.part, ETag: out.ETag! };
  }

  try {
    const parts: CompletedPart[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ranges.length) parts.push(await copyPart(ranges[next++]!));
    };
    await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, ranges.length) }, worker));
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: destinationKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    return 'multipart';
  } catch (error) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: destinationKey, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}
