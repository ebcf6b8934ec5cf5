// The Portique that bench/documents.ts measures, in a process of its own so its RSS is its own:
// the real app (buildApp, production mode) against the bench's database, Redis and S3 server,
// plus the test login route. Logs the bench's people in, then tells the parent its port and
// their sessions (IPC), and serves until killed.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { connectDatabase } from '../../src/platform/db.js';
import { createMailer } from '../../src/platform/mail.js';
import { createQueueService } from '../../src/platform/queue.js';
import { tuneHeapForStreaming } from '../../src/platform/heap.js';
import { createStorage } from '../../src/platform/storage.js';
import { createTenantRegistry } from '../../src/tenancy/registry.js';
import { cookieOf, login, loginRoute, verifiedLogin } from '../../test/identity/helpers.js';

// As `portique serve` does (src/platform/heap.ts).
tuneHeapForStreaming();
const env = JSON.parse(process.env.BENCH_SERVER_ENV!) as Record<string, string>;
const people = Number(process.env.BENCH_PEOPLE_COUNT ?? 1);
const config = loadConfig({ ...env, NODE_ENV: 'production', SAML_KEY_SECRET: randomBytes(32).toString('base64'), LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' });
const database = connectDatabase(config.databaseUrl, { name: 'portique-bench-documents' });
const registry = await createTenantRegistry(database, { listen: false });
const app = await buildApp({ config, database, registry, storage: createStorage(config.s3), queue: createQueueService(config.redisUrl), mailer: createMailer(config.smtp.url), usage: null });
loginRoute(app);
await app.listen({ host: '127.0.0.1', port: 0 });
const tenant = registry.bySlug('nord')!;
const host = 'nord.localhost';
const sessions = [];
for (let i = 0; i < people; i++) {
  const eppn = `bench${i}@univ-nord.example`;
  const res = await login(app, host, verifiedLogin(tenant.id, { idpEntityId: tenant.declaration.identity!.providers[0]!.entityId, nameId: { value: `bench-${i}`, format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }, attributes: { eduPersonPrincipalName: [eppn], displayName: [eppn], mail: [eppn], eduPersonAffiliation: ['staff'] } }));
  // Production mode: the session cookie carries the __Host- prefix.
  const cookie = `__Host-portique_session=${cookieOf(res, '__Host-portique_session')}`;
  const page = await app.inject({ method: 'GET', url: '/documents', headers: { host, cookie, accept: 'text/html' } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.body)?.[1];
  if (!csrf) throw new Error(`bench login ${i}: ${res.statusCode} / ${page.statusCode}`);
  sessions.push({ host, cookie, csrf });
}
// SIGTERM: exit normally, so a --cpu-prof profile is written.
process.once('SIGTERM', () => process.exit(0));
process.send!({ port: (app.server.address() as AddressInfo).port, sessions });
