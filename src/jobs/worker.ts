// The `portique worker` role: checks Redis, runs one BullMQ Worker per tenant queue (see
// queues.ts for why), follows the tenant registry as universities are added, and installs the
// recurring jobs of schedules.ts in every tenant's queues.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createJobRunner, type JobRunner, type QueueSpec } from '../platform/jobs/runner.js';
import { assertNoEviction } from '../platform/jobs/redis-check.js';
import type { QueueService } from '../platform/queue.js';
import type { Tenant } from '../tenancy/registry.js';
import type { JobDeps } from './deps.js';
import { DEFAULT_MAIL_RATE_PER_MINUTE, LANES, queueName } from './queues.js';
import { JOBS, type AnyJob } from './registry.js';
import { SCHEDULES, type Schedule } from './schedules.js';

export interface JobWorkerOptions {
  redisUrl: string;
  /** The producers' queue service (same prefix): used to install the schedules. */
  queues: QueueService;
  log: Logger;
  definitions?: readonly AnyJob[];
  schedules?: readonly Schedule[];
  /** Jobs run at once per tenant queue, in this process. */
  concurrency?: { default: number; mail: number };
  /** How often the registry is checked for added or removed tenants. */
  tenantPollMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface JobWorker {
  runner: JobRunner;
  /** Re-reads the tenants now (tests; otherwise every tenantPollMs). */
  refresh(): Promise<void>;
  close(timeoutMs?: number): Promise<void>;
}

export async function startJobWorker(deps: JobDeps, options: JobWorkerOptions): Promise<JobWorker> {
  const { log, queues } = options;
  const probe = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  probe.on('error', () => {}); // connect() rejects with it
  try {
    await probe.connect();
    await assertNoEviction(probe);
  } finally {
    probe.disconnect();
  }

  const concurrency = options.concurrency ?? { default: 4, mail: 4 };
  const runner = createJobRunner({
    redisUrl: options.redisUrl,
    prefix: queues.prefix,
    definitions: options.definitions ?? JOBS,
    deps,
    log,
    ...(options.lockDurationMs ? { lockDurationMs: options.lockDurationMs } : {}),
    ...(options.stalledIntervalMs ? { stalledIntervalMs: options.stalledIntervalMs } : {}),
  });
  const schedules = options.schedules ?? SCHEDULES;
  const scheduled = new Set<string>();

  const specsFor = (tenants: Tenant[]): QueueSpec[] =>
    tenants.flatMap((tenant) =>
      LANES.map((lane) => ({
        name: queueName(tenant.id, lane),
        tenantId: tenant.id,
        concurrency: concurrency[lane],
        ...(lane === 'mail'
          ? { limiter: { max: tenant.declaration.mail?.ratePerMinute ?? DEFAULT_MAIL_RATE_PER_MINUTE, duration: 60_000 } }
          : {}),
      })),
    );

  async function installSchedules(tenant: Tenant): Promise<void> {
    const definitions = options.definitions ?? JOBS;
    for (const lane of LANES) {
      const queue = queues.queue(queueName(tenant.id, lane));
      const mine = schedules.filter((s) => definitions.find((d) => d.name === s.job)?.lane === lane);
      for (const schedule of mine) {
        const definition = definitions.find((d) => d.name === schedule.job)!;
        await queue.upsertJobScheduler(
          schedule.id,
          schedule.every ? { every: schedule.every } : { pattern: schedule.pattern!, ...(schedule.tz ? { tz: schedule.tz } : {}) },
          {
            name: schedule.job,
            data: { tenantId: tenant.id },
            opts: { attempts: definition.attempts, backoff: { type: 'exponential', delay: definition.backoffMs }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } },
          },
        );
      }
      // A schedule removed from schedules.ts stops everywhere.
      for (const existing of await queue.getJobSchedulers()) {
        if (existing.key && !mine.some((s) => s.id === existing.key)) await queue.removeJobScheduler(existing.key);
      }
    }
  }

  async function refresh(): Promise<void> {
    const tenants = deps.registry.all();
    await runner.sync(specsFor(tenants));
    for (const tenant of tenants) {
      if (scheduled.has(tenant.id)) continue;
      await installSchedules(tenant);
      scheduled.add(tenant.id);
    }
  }

  await refresh();
  log.info({ tenants: deps.registry.all().map((t) => t.slug), queues: runner.queues().length }, 'job worker started');
  const poll = setInterval(() => {
    refresh().catch((error: unknown) => log.warn({ err: error }, 'could not follow the tenant registry'));
  }, options.tenantPollMs ?? 10_000);
  poll.unref();

  return {
    runner,
    refresh,
    async close(timeoutMs) {
      clearInterval(poll);
      await runner.close(timeoutMs);
    },
  };
}
