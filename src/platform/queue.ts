// Job queues: BullMQ on Redis. One shared ioredis connection for producers; workers open their
// own (BullMQ needs a blocking connection each).
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

export interface QueueService {
  readonly redis: Redis;
  /** Key prefix of every queue (BullMQ's `prefix`); tests use their own so files never share jobs. */
  readonly prefix: string;
  queue(name: string): Queue;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createQueueService(redisUrl: string, options: { prefix?: string } = {}): QueueService {
  const prefix = options.prefix ?? 'portique';
  // Commands fail fast while Redis is down instead of piling up, so HTTP answers 503 quickly.
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  redis.on('error', () => {}); // reported by ping() and by the callers' own errors
  const queues = new Map<string, Queue>();
  return {
    redis,
    prefix,
    queue(name) {
      let q = queues.get(name);
      if (!q) {
        q = new Queue(name, { connection: redis, prefix });
        q.on('error', () => {}); // connection errors reach the callers as rejected commands
        queues.set(name, q);
      }
      return q;
    },
    async ping() {
      if (redis.status !== 'ready') throw new Error(`redis is ${redis.status}`);
      await redis.ping();
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      redis.disconnect();
    },
  };
}
