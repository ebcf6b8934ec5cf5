// buildApp(deps): the HTTP application, wired from the dependencies it is given (never from
// module-level singletons), so tests and roles build exactly what they need.
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { randomUUID } from 'node:crypto';
import { ConfigError, type Config } from './config.js';
import type { DbHandle } from './platform/db.js';
import type { Mailer } from './platform/mail.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import { probesPlugin } from './platform/probes.js';
import type { QueueService } from './platform/queue.js';
import type { Storage } from './platform/storage.js';
import { loadOperatorDeclaration } from './identity/operator.js';
import { createIdentity, identityPlugin } from './identity/plugin.js';
import { documentsRoutes } from './documents/routes.js';
import { publicLinkRoutes } from './documents/public.js';
import { createDocumentsService } from './documents/service.js';
import { createSharingService } from './documents/sharing.js';
import { reconciliationRoutes } from './documents/reconcile-pages.js';
import { clamdPing, scanRequester } from './documents/scan.js';
import { notify } from './notifications/service.js';
import { createJobs } from './jobs/client.js';
import { recordAudit } from './operator/audit.js';
import { createRegional } from './operator/regional.js';
import { operatorRoutes } from './operator/routes.js';
import { operatorSamlRoutes } from './operator/saml.js';
import { samlRoutes, type SamlHandover } from './identity/saml/routes.js';
import { portalRoutes } from './portal/routes.js';
import { directoryPlugin } from './directory/plugin.js';
import { tenancyPlugin } from './tenancy/plugin.js';
import { notificationsPlugin } from './notifications/plugin.js';
import { createUsageRecorder, type UsageRecorder } from './statistics/recorder.js';
import { statisticsPlugin } from './statistics/plugin.js';
import type { TenantRegistry } from './tenancy/registry.js';
import { tenancyRoutes } from './tenancy/routes.js';
import { maintenance, unknownHost, webPlugin } from './web/plugin.js';

export interface AppDeps {
  config: Config;
  database: DbHandle;
  registry: TenantRegistry;
  storage: Storage;
  queue: QueueService;
  mailer: Mailer;
  metrics?: Metrics;
  /** Where log lines go (default stdout); tests read them. */
  logStream?: NodeJS.WritableStream;
  /** Usage events (src/statistics/): default, a recorder writing to `database`; null: recording off (bench). */
  usage?: UsageRecorder | null;
  /** Tests of the SAML layer alone: stand-ins for what app.identity does after a verified login. */
  samlHandover?: SamlHandover;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database, registry, storage, queue, mailer } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    // Our own onResponse line carries the tenant; Fastify's would be logged before it is known.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    trustProxy: config.http.trustProxy,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  });

  // The id a person can quote to support; also on every error page and JSON error.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, route: request.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });

  await app.register(cookie);
  await app.register(formbody);
  await app.register(probesPlugin, {
    metrics,
    metricsToken: config.metricsToken,
    checks: {
      postgres: () => database.ping(),
      redis: () => queue.ping(),
      s3: () => storage.ping(),
      smtp: () => mailer.ping(),
    },
    // Not needed to serve: pending files are served (src/documents/scan.ts).
    optional: { 'virus scan': async () => (config.clamd ? clamdPing(config.clamd) : 'off') },
  });
  await app.register(webPlugin, { production: config.env === 'production' });
  const usage = deps.usage === undefined ? createUsageRecorder(database, { log: app.log }) : deps.usage;
  const operator = config.operator && (await loadOperatorDeclaration(config.operator.declarationFile, config.operator.host));
  await app.register(tenancyPlugin, { registry, onUnknownHost: unknownHost, onSuspended: maintenance, operatorHost: operator?.host });
  // Sessions, CSRF and roles (src/identity/): app.identity is what the SAML routes call.
  // Every operator sign-in is written to the console's audit trail before its session opens.
  const onOperatorLogin = async (request: FastifyRequest, actor: { id: string; displayName: string }) =>
    recordAudit(database.db, { actor, ip: request.ip, requestId: request.id }, { action: 'sign-in' });
  await app.register(identityPlugin, { identity: createIdentity({ config, database, redis: queue.redis, operator, onOperatorLogin, usage }) });
  // Before the feature routes: their hooks (the bell's count, page views) reach only routes added after them.
  await app.register(notificationsPlugin, { database });
  await app.register(statisticsPlugin, { database, usage });

  if (!config.samlKeySecret) throw new ConfigError('SAML_KEY_SECRET is required to serve (it encrypts the SAML SP keys; e.g. `openssl rand -base64 32`)');
  await app.register(samlRoutes, {
    database,
    redis: queue.redis,
    production: config.env === 'production',
    port: config.http.port,
    keySecret: config.samlKeySecret,
    handover: deps.samlHandover ?? app.identity,
  });

  await app.register(tenancyRoutes, { database });
  await app.register(portalRoutes);
  const jobs = createJobs(queue);
  const scan = config.clamd ? scanRequester({ database, jobs, log: (error) => app.log.error({ err: error }, 'documents: virus scan not requested') }) : undefined;
  const documents = createDocumentsService({ database, storage, ...(scan ? { afterStore: scan } : {}) });
  const sharing = createSharingService({
    database,
    documents,
    notify: (input) => notify({ database, jobs, registry }, input),
    log: (error) => app.log.warn({ err: error }, 'documents: share notification failed'),
  });
  await app.register(documentsRoutes, { documents, sharing, database });
  await app.register(publicLinkRoutes, { documents, sharing, redis: queue.redis });
  await app.register(reconciliationRoutes, { database, scanOn: config.clamd !== undefined });
  await app.register(directoryPlugin, { database, queue, storage });
  if (operator) {
    const regional = createRegional({ database, registry, jobs });
    await app.register(operatorRoutes, { operator, identity: app.identity, registry, regional, singleLogout: true });
    // The console's own SAML SP (the tenant SAML routes, given the console as a tenant-like value).
    const saml = { database, redis: queue.redis, production: config.env === 'production', port: config.http.port };
    await app.register(operatorSamlRoutes, { ...saml, operator, handover: app.identity });
  }
  return app;
}
