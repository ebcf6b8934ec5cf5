// What the benchmarks that run the real app share: its configuration (production mode, a database
// of the bench's own, no S3 or SMTP behind the measured routes) and the median of rounds.
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config.js';
import { REDIS_URL } from '../../test/helpers/env.js';

export function benchConfig(databaseUrl: string): Config {
  return loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    // Nothing the benchmarks measure talks to S3 or SMTP (only /readyz would).
    S3_ENDPOINT: 'http://127.0.0.1:9',
    S3_BUCKET: 'portique-bench',
    S3_ACCESS_KEY_ID: 'bench',
    S3_SECRET_ACCESS_KEY: 'bench',
    SMTP_URL: 'smtp://127.0.0.1:9',
    SAML_KEY_SECRET: randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
