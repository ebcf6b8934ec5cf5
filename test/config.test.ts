// Config: environment -> typed, frozen config; a missing or malformed variable is one clear line.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.js';

const valid = {
  DATABASE_URL: 'postgres://app@127.0.0.1/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  S3_BUCKET: 'portique',
  S3_ACCESS_KEY_ID: 'key',
  S3_SECRET_ACCESS_KEY: 'secret',
  SMTP_URL: 'smtp://127.0.0.1:25',
};

t.test('a valid environment gives a typed, frozen config with safe defaults', async (t) => {
  const config = loadConfig(valid);
  t.equal(config.http.port, 3000);
  t.equal(config.env, 'development');
  t.equal(config.databaseOwnerUrl, undefined);
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.s3), 'frozen, deeply');
  t.throws(() => {
    (config.s3 as { bucket: string }).bucket = 'other';
  });
});

for (const [name, env, message] of [
  ['missing secret', { ...valid, S3_SECRET_ACCESS_KEY: undefined }, /^S3_SECRET_ACCESS_KEY is required but not set$/],
  ['blank value', { ...valid, DATABASE_URL: '   ' }, /^DATABASE_URL is required/],
  ['not a URL', { ...valid, DATABASE_URL: 'not a url' }, /^DATABASE_URL is not a valid URL$/],
  ['wrong scheme', { ...valid, REDIS_URL: 'http://127.0.0.1' }, /^REDIS_URL must use redis: or rediss: \(got http:\)$/],
  ['port not a number', { ...valid, PORT: '30OO' }, /^PORT must be a whole number/],
  ['port out of range', { ...valid, PORT: '70000' }, /^PORT must be between 0 and 65535/],
  ['bad boolean', { ...valid, S3_FORCE_PATH_STYLE: 'maybe' }, /^S3_FORCE_PATH_STYLE must be true or false/],
  ['bad NODE_ENV', { ...valid, NODE_ENV: 'staging' }, /^NODE_ENV must be/],
] as const) {
  t.test(`refused: ${name}`, async (t) => {
    t.throws(() => loadConfig(env as Record<string, string | undefined>), { name: 'Error', message });
    try {
      loadConfig(env as Record<string, string | undefined>);
    } catch (error) {
      t.type(error, ConfigError);
    }
  });
}

t.test('the CLI stops with one clear line', async (t) => {
  const run = promisify(execFile);
  const { SMTP_URL: _, ...withoutSmtp } = valid;
  const result = await run('bin/portique', ['migrate'], { env: { PATH: process.env.PATH, ...withoutSmtp } }).catch((e: { code: number; stderr: string }) => e);
  t.equal((result as { code: number }).code, 1);
  t.equal((result as { stderr: string }).stderr.trim(), 'configuration error: SMTP_URL is required but not set');
});
