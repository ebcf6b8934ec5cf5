// BullMQ keeps jobs in Redis: a Redis that evicts keys under memory pressure silently loses jobs
// and locks. The worker refuses to start on one.
import type { Redis } from 'ioredis';

export class RedisPolicyError extends Error {}

export async function assertNoEviction(redis: Redis): Promise<void> {
  // INFO works where CONFIG is disabled (managed Redis services often rename it).
  const info = await redis.info('memory');
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  if (policy !== 'noeviction') {
    throw new RedisPolicyError(
      `Redis maxmemory-policy is "${policy ?? 'unknown'}"; job queues need "noeviction" (an evicting Redis loses jobs). ` +
        'Set `maxmemory-policy noeviction` in the Redis configuration.',
    );
  }
}
