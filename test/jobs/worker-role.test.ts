// `portique worker` as a process: refuses an evicting Redis with a clear message, and stops
// cleanly on SIGTERM.
import t from 'tap';
import { spawn } from 'node:child_process';
import { applyTenants } from '../../src/tenancy/apply.js';
import { createTestDatabase } from '../helpers/db.js';
import { startRedisServer } from '../helpers/redis-server.js';

const database = await createTestDatabase();
t.teardown(() => database.drop());
await applyTenants(database.owner.db, 'tenants');

function worker(redisUrl: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: database.appUrl,
      REDIS_URL: redisUrl,
      S3_BUCKET: 'unused',
      S3_ACCESS_KEY_ID: 'unused',
      S3_SECRET_ACCESS_KEY: 'unused',
      SMTP_URL: 'smtp://127.0.0.1:1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

t.test('refuses to run on a Redis that evicts keys', async (t) => {
  const redis = await startRedisServer({ maxmemoryPolicy: 'volatile-lru' });
  t.teardown(() => redis.close());
  const w = worker(redis.url);
  t.equal(await w.exited, 1);
  t.match(w.output(), /Redis maxmemory-policy is "volatile-lru"; job queues need "noeviction"/);
});

t.test('starts, then stops on SIGTERM', async (t) => {
  const redis = await startRedisServer();
  t.teardown(() => redis.close());
  const w = worker(redis.url);
  const until = Date.now() + 20_000;
  while (!w.output().includes('job worker started') && Date.now() < until && w.child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  t.match(w.output(), /"tenants":\["nord","sud"\],"queues":4,"msg":"job worker started"/);
  w.child.kill('SIGTERM');
  t.equal(await w.exited, 0);
  t.match(w.output(), /"msg":"worker stopped"/);
});
