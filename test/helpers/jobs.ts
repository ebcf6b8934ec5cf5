// Jobs for one test file: its own database with the tenants applied, a real SMTP server, and
// queues under a prefix of its own in the shared Redis (removed at the end), so test files
// running in parallel never see each other's jobs.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { createSessionStore } from '../../src/identity/session-store.js';
import { createJobs, type Jobs } from '../../src/jobs/client.js';
import type { JobDeps } from '../../src/jobs/deps.js';
import { startJobWorker, type JobWorker, type JobWorkerOptions } from '../../src/jobs/worker.js';
import { createMailer, type Mailer } from '../../src/platform/mail.js';
import { createQueueService, type QueueService } from '../../src/platform/queue.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { createTenantRegistry, type TenantRegistry } from '../../src/tenancy/registry.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { REDIS_URL } from './env.js';
import { startSmtp, type TestSmtp } from './services.js';

export interface JobsHarness {
  database: TestDatabase;
  registry: TenantRegistry;
  smtp: TestSmtp;
  mailer: Mailer;
  queues: QueueService;
  jobs: Jobs;
  deps: JobDeps;
  redisUrl: string;
  nord: string;
  sud: string;
  startWorker(options?: Partial<JobWorkerOptions>): Promise<JobWorker>;
  close(): Promise<void>;
}

export const testLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export async function startJobsHarness(
  options: { redisUrl?: string; backoffMs?: number; smtp?: TestSmtp; tenantsDir?: string } = {},
): Promise<JobsHarness> {
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const prefix = `ptest-${randomBytes(4).toString('hex')}`;
  const database = await createTestDatabase();
  await applyTenants(database.owner.db, options.tenantsDir ?? 'tenants');
  const registry = await createTenantRegistry(database.app, { listen: false });
  const smtp = options.smtp ?? (await startSmtp());
  const mailer = createMailer(smtp.url);
  const queues = createQueueService(redisUrl, { prefix });
  await new Promise<void>((resolve) => (queues.redis.status === 'ready' ? resolve() : queues.redis.once('ready', () => resolve())));
  const jobs = createJobs(queues, options.backoffMs ? { backoffMs: options.backoffMs } : {});
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.appUrl,
    REDIS_URL: redisUrl,
    S3_BUCKET: 'unused',
    S3_ACCESS_KEY_ID: 'unused',
    S3_SECRET_ACCESS_KEY: 'unused',
    SMTP_URL: smtp.url,
    PORT: '3999',
  });
  const deps: JobDeps = { config, database: database.app, registry, mailer, jobs, sessions: createSessionStore(queues.redis) };
  const workers: JobWorker[] = [];
  const tenantId = (slug: string) => registry.bySlug(slug)!.id;
  return {
    database,
    registry,
    smtp,
    mailer,
    queues,
    jobs,
    deps,
    redisUrl,
    nord: tenantId('nord'),
    sud: tenantId('sud'),
    async startWorker(workerOptions = {}) {
      const worker = await startJobWorker(deps, { redisUrl, queues, log: testLog, tenantPollMs: 60_000, ...workerOptions });
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close(2000)));
      await removeKeys(redisUrl, prefix).catch(() => {});
      await queues.close();
      mailer.close();
      await registry.close();
      await Promise.allSettled([database.drop(), options.smtp ? Promise.resolve() : smtp.close()]);
    },
  };
}

async function removeKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Resolves when `check` is true, polling; rejects after timeoutMs with `what`. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
