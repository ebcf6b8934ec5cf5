// The least a Node proxy between a client and S3 can do, for bench/documents to measure what
// proxying itself costs on the machine: PUT /<key> streams the request body into one PutObject of
// the request's Content-Length, GET /<key> streams GetObject's body back; no session, no database,
// no quota, no hash. Run like the server: the same S3 client settings (createStorage), allocator
// (the bench gives it infra/malloc.env) and V8 setting (src/platform/heap.ts), with the growth its
// small heap needs (at 100 %, its 9 MB old generation was still collected every 50 ms and its
// downloads were slower than Portique's). Tells the parent its port (IPC) and serves until killed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { tuneHeapForStreaming } from '../../src/platform/heap.js';
import { createStorage } from '../../src/platform/storage.js';

tuneHeapForStreaming(400);

const storage = createStorage(JSON.parse(process.env.BENCH_S3!));
const server = createServer((req, res) => {
  const Key = `bare${req.url}`;
  const fail = (error: unknown) => {
    if (!res.headersSent) res.writeHead(502).end(String(error));
    else res.destroy();
  };
  if (req.method === 'PUT') {
    storage.client
      .send(new PutObjectCommand({ Bucket: storage.bucket, Key, Body: req, ContentLength: Number(req.headers['content-length']) }))
      .then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), fail);
  } else {
    storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key })).then((out) => {
      res.writeHead(200, { 'content-length': String(out.ContentLength) });
      pipeline(out.Body as Readable, res, () => {});
    }, fail);
  }
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.once('SIGTERM', () => process.exit(0));
