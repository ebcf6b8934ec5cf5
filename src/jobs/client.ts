// Enqueueing and inspecting jobs, for the HTTP side and for other jobs. The payload is validated
// here too, so a bad call fails where it is made, not later in a worker.
import type { Job } from 'bullmq';
import { InvalidPayloadError, payloadProblems } from '../platform/jobs/definition.js';
import type { QueueService } from '../platform/queue.js';
import { createHash } from 'node:crypto';
import { LANES, queueName, type Lane } from './queues.js';
import { JOBS, jobDefinition, type AnyJob, type JobName, type JobPayload } from './registry.js';

export interface EnqueueOptions {
  /** Idempotency key: the same key for the same job name is one job while that job is kept. */
  key?: string;
  delayMs?: number;
}

export interface FailedJob {
  tenantId: string;
  lane: Lane;
  id: string;
  name: string;
  error: string;
  attempts: number;
  enqueuedAt: Date;
  failedAt: Date | undefined;
}

export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface Jobs {
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options?: EnqueueOptions): Promise<{ id: string }>;
  listFailed(tenantId: string, options?: { limit?: number }): Promise<FailedJob[]>;
  counts(tenantId: string): Promise<JobCounts>;
  retryFailed(tenantId: string, lane: Lane, jobId: string): Promise<boolean>;
}

/** Completed jobs are kept a day (their id blocks a duplicate enqueue meanwhile); failed ones 30 days. */
const KEEP = { removeOnComplete: { age: 24 * 3600, count: 10_000 }, removeOnFail: { age: 30 * 24 * 3600 } };

export function createJobs(queues: QueueService, options: { definitions?: readonly AnyJob[]; backoffMs?: number } = {}): Jobs {
  const definitions = options.definitions ?? JOBS;
  return {
    async enqueue(name, payload, opts = {}) {
      const definition = jobDefinition(name, definitions);
      if (!definition) throw new InvalidPayloadError(`unknown job "${name}"`);
      const problems = payloadProblems(definition as never, payload);
      if (problems) throw new InvalidPayloadError(problems);
      const { tenantId } = payload as { tenantId: string };
      const job = await queues.queue(queueName(tenantId, definition.lane as Lane)).add(name, payload, {
        ...(opts.key ? { jobId: `${name}.${createHash('sha256').update(opts.key).digest('hex').slice(0, 32)}` } : {}),
        ...(opts.delayMs ? { delay: opts.delayMs } : {}),
        attempts: definition.attempts,
        backoff: { type: 'exponential', delay: options.backoffMs ?? definition.backoffMs },
        ...KEEP,
      });
      return { id: job.id! };
    },
    async listFailed(tenantId, { limit = 50 } = {}) {
      const lists = await Promise.all(
        LANES.map(async (lane) => (await queues.queue(queueName(tenantId, lane)).getFailed(0, limit - 1)).map((job) => failedJob(tenantId, lane, job))),
      );
      return lists
        .flat()
        .sort((a, b) => (b.failedAt?.getTime() ?? 0) - (a.failedAt?.getTime() ?? 0))
        .slice(0, limit);
    },
    async counts(tenantId) {
      const all = await Promise.all(LANES.map((lane) => queues.queue(queueName(tenantId, lane)).getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed')));
      const sum = (k: string) => all.reduce((n, c) => n + (c[k] ?? 0), 0);
      return { waiting: sum('waiting') + sum('prioritized'), active: sum('active'), delayed: sum('delayed'), failed: sum('failed') };
    },
    async retryFailed(tenantId, lane, jobId) {
      const job = await queues.queue(queueName(tenantId, lane)).getJob(jobId);
      if (!job || !(await job.isFailed())) return false;
      await job.retry('failed');
      return true;
    },
  };
}

function failedJob(tenantId: string, lane: Lane, job: Job): FailedJob {
  return {
    tenantId,
    lane,
    id: job.id!,
    name: job.name,
    error: job.failedReason,
    attempts: job.attemptsMade,
    enqueuedAt: new Date(job.timestamp),
    failedAt: job.finishedOn ? new Date(job.finishedOn) : undefined,
  };
}
