// A local S3-compatible server for development (s3rver, path-style), keeping its objects under
// .dev/s3 so that documents survive a restart. Production uses the region's real S3.
import S3rver from 's3rver';
import { mkdirSync } from 'node:fs';

const port = Number(process.env.S3_PORT ?? 9000);
const directory = process.env.S3_DIR ?? '.dev/s3';
const bucket = process.env.S3_BUCKET ?? 'portique';
mkdirSync(directory, { recursive: true });

const server = new S3rver({ port, address: '127.0.0.1', directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
await server.run();
console.log(`local S3 on http://127.0.0.1:${port} (bucket ${bucket}, data in ${directory})`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
