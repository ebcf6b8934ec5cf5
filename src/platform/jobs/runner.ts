// Runs BullMQ workers over a changing set of queues, with one processor for every job
// definition. Tenant-agnostic: the caller says which queues exist (src/jobs/ makes them per tenant).
//
// Resilience to Redis restarts (bullmq issues #648, #1658, #2466, #2964): every connection
// retries forever (maxRetriesPerRequest: null, a capped retryStrategy), BullMQ re-arms its
// blocking connection itself, and a watchdog restarts any worker whose run loop has ended
// while we did not ask it to, which is the failure mode those issues describe.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { payloadProblems, type JobDefinition } from './definition.js';

export interface QueueSpec {
  name: string;
  concurrency: number;
  /** At most `max` jobs per `duration` ms, counted in Redis for every worker of this queue. */
  limiter?: { max: number; duration: number };
  /** The tenant every job of this queue must carry (checked against the payload). */
  tenantId?: string;
}

export interface JobRunnerOptions<D> {
  redisUrl: string;
  prefix: string;
  definitions: readonly JobDefinition<string, any, D>[];
  deps: D;
  log: Logger;
  /** How long a job's lock lasts without renewal; a dead worker's jobs come back after this. */
  lockDurationMs?: number;
  /** How often each worker looks for jobs whose lock expired (default: BullMQ's 30 s). */
  stalledIntervalMs?: number;
  watchdogMs?: number;
}

export interface JobRunner {
  /** Makes the running workers match `specs`: starts the new queues, stops the removed ones. */
  sync(specs: QueueSpec[]): Promise<void>;
  queues(): string[];
  /** Stops taking jobs and waits up to timeoutMs for the running ones; see close() below. */
  close(timeoutMs?: number): Promise<void>;
}

export function redisOptionsForWorkers(): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
  };
}

export function createJobRunner<D>(options: JobRunnerOptions<D>): JobRunner {
  const { log, prefix, deps } = options;
  const byName = new Map(options.definitions.map((d) => [d.name, d]));
  // One connection for the workers' ordinary commands; each Worker adds its own blocking one.
  const connection = new Redis(options.redisUrl, redisOptionsForWorkers());
  connection.on('error', (error) => log.debug({ err: error }, 'redis connection error (retrying)'));
  const workers = new Map<string, { worker: Worker; key: string }>();
  let closing = false;

  async function process(spec: QueueSpec, job: Job): Promise<unknown> {
    const definition = byName.get(job.name);
    if (!definition) throw new UnrecoverableError(`unknown job "${job.name}" (no definition in the job registry)`);
    // A bad payload fails at once with a readable reason; it is not retried and never reaches a handler.
    const problems = payloadProblems(definition as JobDefinition<string, any, never>, job.data);
    if (problems) throw new UnrecoverableError(problems);
    if (spec.tenantId && job.data.tenantId !== spec.tenantId) {
      throw new UnrecoverableError(`job of tenant ${job.data.tenantId} found in queue ${spec.name} of tenant ${spec.tenantId}`);
    }
    const jobLog = log.child({ tenant: job.data.tenantId, job: job.name, jobId: job.id });
    return definition.handle(job.data, { jobId: job.id!, attempt: job.attemptsMade + 1, log: jobLog }, deps);
  }

  function start(spec: QueueSpec): Worker {
    const worker = new Worker(spec.name, (job) => process(spec, job), {
      connection,
      prefix,
      concurrency: spec.concurrency,
      ...(spec.limiter ? { limiter: spec.limiter } : {}),
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      // A job whose worker vanished (crash, Redis restart mid-job) comes back this many times
      // before it is failed; idempotent handlers make the re-run harmless.
      maxStalledCount: 5,
      // Short blocking waits: an idle worker notices a reconnected Redis quickly.
      drainDelay: 2,
      runRetryDelay: 1000,
    });
    worker.on('error', (error) => log.warn({ err: error, queue: spec.name }, 'worker error'));
    worker.on('failed', (job, error) => {
      if (!job) return;
      const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
      log[final ? 'error' : 'warn'](
        { tenant: job.data?.tenantId, queue: spec.name, job: job.name, jobId: job.id, attempt: job.attemptsMade, err: error.message },
        final ? 'job failed for good' : 'job failed, will retry',
      );
    });
    return worker;
  }

  const watchdog = setInterval(() => {
    for (const [name, { worker }] of workers) {
      if (closing || worker.closing || worker.isRunning()) continue;
      log.warn({ queue: name }, 'worker had stopped pulling jobs; restarting it');
      worker.run().catch((error: unknown) => log.warn({ err: error, queue: name }, 'worker restart failed'));
    }
  }, options.watchdogMs ?? 5000);
  watchdog.unref();

  return {
    async sync(specs) {
      if (closing) return;
      const wanted = new Map(specs.map((s) => [s.name, s]));
      const stopping: Promise<void>[] = [];
      for (const [name, entry] of workers) {
        const spec = wanted.get(name);
        if (spec && JSON.stringify(spec) === entry.key) continue;
        workers.delete(name);
        stopping.push(entry.worker.close());
      }
      await Promise.all(stopping);
      for (const spec of specs) {
        if (!workers.has(spec.name)) workers.set(spec.name, { worker: start(spec), key: JSON.stringify(spec) });
      }
    },
    queues: () => [...workers.keys()],
    /**
     * Graceful stop (SIGTERM): no new job is taken, running ones finish. After timeoutMs we stop
     * waiting and return; the unfinished jobs keep their lock until it expires, then BullMQ's
     * stalled check (in any other worker, or this one restarted) puts them back in the queue:
     * released, not lost, and run again idempotently.
     */
    async close(timeoutMs = 25_000) {
      closing = true;
      clearInterval(watchdog);
      const all = Promise.allSettled([...workers.values()].map(({ worker }) => worker.close()));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) log.warn({ timeoutMs }, 'jobs still running at shutdown; they will be retried after their lock expires');
      workers.clear();
      connection.disconnect();
    },
  };
}
