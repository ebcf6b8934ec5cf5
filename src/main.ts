// CLI entry: `portique <role>`. One code base, several roles (DESIGN.md).
import { pino } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { connectDatabase } from './platform/db.js';
import { tuneHeapForStreaming } from './platform/heap.js';
import { createMailer } from './platform/mail.js';
import { migrate } from './platform/migrate.js';
import { createQueueService } from './platform/queue.js';
import { createStorage } from './platform/storage.js';
import { startWorkerProcess } from './jobs/process.js';
import { applyTenants } from './tenancy/apply.js';
import { DeclarationError } from './tenancy/declaration.js';
import { createTenantRegistry } from './tenancy/registry.js';
import { describeChanges, listTenants, runOffboarding } from './tenancy/cli.js';
import { OffboardError } from './tenancy/offboard.js';
import { Redis } from 'ioredis';

const USAGE = `usage: portique <command>
  serve                      HTTP server (portal, API, SAML, consoles)
  worker                     background job workers
  migrate                    apply migrations/ as the owner role (DATABASE_OWNER_URL)
  tenants apply [--dry-run]  make the registry match tenants/*.yaml
  tenants list               tenants, hosts and status
  tenants export <slug> [--out dir]
                             everything a university owns (rows, files), into a folder it can take away
  tenants purge <slug> --confirm <slug> [--no-export]
                             deletes a suspended university everywhere (database, S3, Redis), once exported`;

function ownerUrl(config: Config): string {
  if (!config.databaseOwnerUrl) throw new ConfigError('DATABASE_OWNER_URL is required for this command');
  return config.databaseOwnerUrl;
}

async function serve(config: Config): Promise<void> {
  tuneHeapForStreaming();
  const database = connectDatabase(config.databaseUrl, { name: 'portique-serve' });
  const queue = createQueueService(config.redisUrl);
  const storage = createStorage(config.s3);
  const mailer = createMailer(config.smtp.url);
  const registry = await createTenantRegistry(database, { onReloadError: (e) => console.error('tenant registry reload failed', e) });
  const app = await buildApp({ config, database, registry, storage, queue, mailer });
  registry.all().length === 0 && app.log.warn('no tenant is declared: run `portique tenants apply`');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await registry.close();
    await Promise.allSettled([queue.close(), database.close()]);
    storage.close();
    mailer.close();
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen({ host: config.http.host, port: config.http.port });
}

async function worker(config: Config): Promise<void> {
  const log = pino({ level: config.logLevel, name: 'portique-worker' });
  const jobs = await startWorkerProcess(config, log);
  let closing = false;
  // SIGTERM (a deploy, a scale-down): take no new job, let the running ones finish (25 s, inside
  // Kubernetes' default 30 s grace); what is still running then is released by its lock expiry.
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'worker stopping');
    await jobs.stop(25_000);
    log.info('worker stopped');
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      await serve(config);
      return -1; // keeps running
    case 'worker':
      await worker(config);
      return -1; // keeps running
    case 'migrate': {
      const { applied } = await migrate(ownerUrl(config), config.databaseUrl);
      console.log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
      return 0;
    }
    case 'tenants': {
      const database = connectDatabase(sub === 'list' ? config.databaseUrl : ownerUrl(config), { max: 2, name: 'portique-cli' });
      try {
        if (sub === 'apply') {
          const dryRun = rest.includes('--dry-run');
          // Declared buckets are checked (created where the storage allows) before anything is written.
          const storage = createStorage(config.s3);
          let result;
          try {
            result = await applyTenants(database.db, config.tenantsDir, { dryRun, storage });
          } finally {
            storage.close();
          }
          console.log(describeChanges(result));
          return 0;
        }
        if (sub === 'list') {
          console.log(await listTenants(database.db));
          return 0;
        }
        if (sub === 'export' || sub === 'purge') {
          const storage = createStorage(config.s3);
          const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
          try {
            await redis.connect();
            console.log(await runOffboarding({ owner: database, storage, redis }, sub, rest));
            return 0;
          } finally {
            storage.close();
            redis.disconnect();
          }
        }
      } finally {
        await database.close();
      }
      break;
    }
  }
  console.error(`unknown command: ${argv.join(' ')}\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(`configuration error: ${error.message}`);
    else if (error instanceof OffboardError) console.error(`refused: ${error.message}`);
    else if (error instanceof DeclarationError) console.error(`tenant declarations are invalid, nothing was changed:\n${error.message}`);
    else console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
