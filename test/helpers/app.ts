// A complete Portique for one test file: its own database with the given tenants applied, real
// Redis, S3 and SMTP, and the HTTP app built from them exactly as `serve` builds it.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { once } from 'node:events';
import { buildApp, type AppDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { DbHandle } from '../../src/platform/db.js';
import { createMailer, type Mailer } from '../../src/platform/mail.js';
import { createQueueService, type QueueService } from '../../src/platform/queue.js';
import { createStorage, type Storage } from '../../src/platform/storage.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { createTenantRegistry, type TenantRegistry } from '../../src/tenancy/registry.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { REDIS_URL } from './env.js';
import { startS3, startSmtp, type TestS3, type TestSmtp } from './services.js';

export interface TestPortique {
  app: FastifyInstance;
  config: Config;
  database: TestDatabase;
  registry: TenantRegistry;
  storage: Storage;
  queue: QueueService;
  mailer: Mailer;
  s3: TestS3;
  smtp: TestSmtp;
  close(): Promise<void>;
}

export interface StartOptions {
  tenantsDir?: string;
  /** Extra environment for loadConfig (e.g. METRICS_TOKEN). */
  env?: Record<string, string>;
  /** Where the app's log lines go (default: none, LOG_LEVEL silent). */
  logStream?: NodeJS.WritableStream;
  /** Stand-ins for the sessions side of SAML logins (tests of src/identity/saml/). */
  samlHandover?: AppDeps['samlHandover'];
  /** Register test-only routes before the app is sealed (with the dependencies the app was built from). */
  beforeReady?: (app: FastifyInstance, deps: { database: DbHandle; queue: QueueService; config: Config }) => void | Promise<void>;
}

export async function startPortique(options: StartOptions = {}): Promise<TestPortique> {
  const database = await createTestDatabase();
  const [s3, smtp] = await Promise.all([startS3(), startSmtp()]);
  const tenantsDir = options.tenantsDir ?? 'tenants';
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.appUrl,
    DATABASE_OWNER_URL: database.ownerUrl,
    REDIS_URL,
    S3_ENDPOINT: s3.config.endpoint,
    S3_BUCKET: s3.config.bucket,
    S3_ACCESS_KEY_ID: s3.config.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.config.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    SMTP_URL: smtp.url,
    TENANTS_DIR: tenantsDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SAML_KEY_SECRET: randomBytes(32).toString('base64'),
    ...options.env,
  });
  const storage = createStorage(config.s3);
  await applyTenants(database.owner.db, tenantsDir, { storage });
  const registry = await createTenantRegistry(database.app);
  const queue = createQueueService(config.redisUrl);
  const mailer = createMailer(config.smtp.url);
  const app = await buildApp({ config, database: database.app, registry, storage, queue, mailer, ...(options.logStream ? { logStream: options.logStream } : {}), ...(options.samlHandover ? { samlHandover: options.samlHandover } : {}) });
  // Like a replica behind its readiness probe: serve once Redis is connected.
  if (queue.redis.status !== 'ready') await once(queue.redis, 'ready');
  await options.beforeReady?.(app, { database: database.app, queue, config });
  await app.ready();
  return {
    app,
    config,
    database,
    registry,
    storage,
    queue,
    mailer,
    s3,
    smtp,
    async close() {
      await app.close();
      await registry.close();
      await queue.close();
      storage.close();
      mailer.close();
      await Promise.allSettled([database.drop(), s3.close(), smtp.close()]);
    },
  };
}
