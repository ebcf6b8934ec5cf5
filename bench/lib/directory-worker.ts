// The `portique worker` that bench/directory.ts measures the CSV import in, in a process of its
// own so its RSS is the worker's: the worker role's own process (src/jobs/process.ts: every job
// module loaded, a BullMQ worker per tenant queue) against the bench's database and Redis, under
// a queue prefix of the bench's own and without the recurring jobs, so the only job it runs is the
// one the bench enqueues. Tells the parent it is ready (IPC), and runs until SIGTERM.
import { pino } from 'pino';
import { startWorkerProcess } from '../../src/jobs/process.js';
import { benchConfig } from './setup.js';

const config = benchConfig(process.env.BENCH_DATABASE_URL!);
const log = pino({ level: config.logLevel, name: 'portique-bench-worker' });
const worker = await startWorkerProcess(config, log, { name: 'portique-bench-worker', queuePrefix: process.env.BENCH_QUEUE_PREFIX!, listen: false, schedules: [], tenantPollMs: 3_600_000 });
process.once('SIGTERM', () => void worker.stop(5_000).then(() => process.exit(0)));
process.send!({ ready: true });
