// The `portique worker` that bench/directory.ts measures the CSV import in, in a process of its
// own so its RSS is the worker's: the same wiring as src/main.ts's worker role (every job module
// loaded, a BullMQ worker per tenant queue) against the bench's database and Redis, under a queue
// prefix of the bench's own and without the recurring jobs, so the only job it runs is the one the
// bench enqueues. Tells the parent it is ready (IPC), and runs until SIGTERM.
import { pino } from 'pino';
import { createSessionStore } from '../../src/identity/session-store.js';
import { createJobs } from '../../src/jobs/client.js';
import { startJobWorker } from '../../src/jobs/worker.js';
import { connectDatabase } from '../../src/platform/db.js';
import { createMailer } from '../../src/platform/mail.js';
import { createQueueService } from '../../src/platform/queue.js';
import { createStorage } from '../../src/platform/storage.js';
import { createTenantRegistry } from '../../src/tenancy/registry.js';
import { benchConfig } from './setup.js';

const config = benchConfig(process.env.BENCH_DATABASE_URL!);
const log = pino({ level: config.logLevel, name: 'portique-bench-worker' });
const database = connectDatabase(config.databaseUrl, { name: 'portique-bench-worker' });
const queue = createQueueService(config.redisUrl, { prefix: process.env.BENCH_QUEUE_PREFIX! });
const mailer = createMailer(config.smtp.url);
const registry = await createTenantRegistry(database, { listen: false });
const storage = createStorage(config.s3);
const sessions = createSessionStore(queue.redis);
const jobs = await startJobWorker(
  { config, database, registry, mailer, storage, jobs: createJobs(queue), sessions },
  { redisUrl: config.redisUrl, queues: queue, log, schedules: [], tenantPollMs: 3_600_000 },
);
process.once('SIGTERM', () => {
  void (async () => {
    await jobs.close(5_000);
    await registry.close();
    await Promise.allSettled([queue.close(), database.close()]);
    mailer.close();
    storage.close();
    process.exit(0);
  })();
});
process.send!({ ready: true });
