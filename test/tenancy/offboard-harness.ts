// What export and purge run against in tests: a database of their own, a real S3 server and
// Redis, each closed when the test file ends.
import type { Test } from 'tap';
import { Redis } from 'ioredis';
import { createStorage } from '../../src/platform/storage.js';
import { createTestDatabase } from '../helpers/db.js';
import { REDIS_URL } from '../helpers/env.js';
import { startS3 } from '../helpers/services.js';

export async function startOffboardingDeps(t: Test) {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const s3 = await startS3();
  t.teardown(() => s3.close());
  const storage = createStorage(s3.config);
  t.teardown(() => storage.close());
  const redis = new Redis(REDIS_URL);
  t.teardown(() => redis.disconnect());
  return { database, s3, storage, redis };
}
