// The optional virus scan, against a fake clamd written here that speaks the real protocol
// (zPING, zINSTREAM with 4-byte big-endian chunk lengths, NUL-terminated replies) and finds the
// EICAR test string. Real S3 and PostgreSQL; the documents.scan job is run by hand.
import t from 'tap';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { documentsScanJob } from '../../src/documents/scan.js';
import { queueName } from '../../src/jobs/queues.js';
import { JOBS } from '../../src/jobs/registry.js';
import { startPortique } from '../helpers/app.js';
import { testLog } from '../helpers/jobs.js';
import { identityTenantsDir, loginRoute } from '../identity/helpers.js';
import { groupWith, loginAs, send, upload, type DocsHarness } from './helpers.js';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

interface FakeClamd {
  port: number;
  scans: number;
  /** Bytes received by the last INSTREAM. */
  lastBytes: number;
  close(): Promise<void>;
}

/** A clamd: answers PONG, scans INSTREAM data, refuses streams above maxBytes as clamd does. */
async function fakeClamd(maxBytes = 25 * 1024 * 1024, port = 0): Promise<FakeClamd> {
  const sockets = new Set<Socket>();
  const state = { scans: 0, lastBytes: 0 };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let command: string | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    socket.on('data', (data: Buffer) => {
      if (command === 'refused') return;
      buffer = Buffer.concat([buffer, data]);
      if (command === undefined) {
        const nul = buffer.indexOf(0);
        if (nul < 0) return;
        command = buffer.subarray(0, nul).toString();
        buffer = buffer.subarray(nul + 1);
        if (command === 'zPING') return void socket.end('PONG\0');
        if (command !== 'zINSTREAM') return void socket.end('UNKNOWN COMMAND\0');
      }
      while (buffer.length >= 4) {
        const length = buffer.readUInt32BE(0);
        if (length === 0) {
          state.scans++;
          state.lastBytes = received;
          const content = Buffer.concat(chunks).toString('latin1');
          return void socket.end(content.includes(EICAR) ? 'stream: Eicar-Test-Signature FOUND\0' : 'stream: OK\0');
        }
        if (buffer.length < 4 + length) return;
        received += length;
        if (received > maxBytes) {
          // As clamd: the error, then the connection closed while the client may still be sending.
          command = 'refused';
          socket.end('INSTREAM size limit exceeded. ERROR\0');
          return;
        }
        chunks.push(Buffer.from(buffer.subarray(4, 4 + length)));
        buffer = buffer.subarray(4 + length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get scans() {
      return state.scans;
    },
    get lastBytes() {
      return state.lastBytes;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let clamd = await fakeClamd(64 * 1024);
const clamdPort = clamd.port;
const dir = await identityTenantsDir();
const p = await startPortique({ tenantsDir: dir, env: { CLAMD_ADDRESS: `127.0.0.1:${clamdPort}` }, beforeReady: (app) => loginRoute(app) });
await p.app.listen({ port: 0, host: '127.0.0.1' });
const h: DocsHarness = { p, port: (p.app.server.address() as AddressInfo).port, nord: p.registry.bySlug('nord')!.id, sud: p.registry.bySlug('sud')!.id, close: () => p.close() };
t.teardown(async () => {
  await h.close();
  await clamd.close();
});
const alix = await loginAs(h, 'nord', 'alix@univ-nord.example');
const bea = await loginAs(h, 'nord', 'bea@univ-nord.example');
const sam = await loginAs(h, 'sud', 'sam@univ-sud.example');
const json = { 'content-type': 'application/json' };
const jobDeps = { database: p.database.app, registry: p.registry, mailer: p.mailer, storage: p.storage, config: p.config };

const fileOf = async (who: typeof alix, name: string, body: string | Buffer) => {
  const res = await upload(h, who, name, Buffer.isBuffer(body) ? body : Buffer.from(body));
  if (res.status !== 200) throw new Error(`upload ${name}: ${res.status} ${res.body}`);
  return JSON.parse(res.body.toString()).files[0] as { id: string };
};
const currentVersion = (tenantId: string, nodeId: string) =>
  p.database.app.withTenant(tenantId, async (trx) => {
    const node = await trx.selectFrom('document_nodes').select('current_version_id').where('id', '=', nodeId).executeTakeFirstOrThrow();
    return node.current_version_id!;
  });
const scanRow = (tenantId: string, versionId: string) =>
  p.database.app.withTenant(tenantId, (trx) =>
    trx.selectFrom('document_scans as s').innerJoin('document_versions as v', (j) => j.onRef('v.tenant_id', '=', 's.tenant_id').onRef('v.sha256', '=', 's.sha256')).select(['s.status', 's.finding']).where('v.id', '=', versionId).executeTakeFirst(),
  );
const runScan = async (tenantId: string, nodeId: string) => documentsScanJob.handle({ tenantId, versionId: await currentVersion(tenantId, nodeId) }, { jobId: 'test', attempt: 1, log: testLog }, jobDeps);
const enqueuedScans = async (tenantId: string) => (await p.queue.queue(queueName(tenantId, 'default')).getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) => j.name === 'documents.scan').map((j) => j.data.versionId as string);

t.test('CLAMD_ADDRESS is host:port, or the configuration says what is wrong', async (t) => {
  const base = { DATABASE_URL: 'postgres://x@h/db', REDIS_URL: 'redis://h', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', SMTP_URL: 'smtp://h' };
  t.same(loadConfig({ ...base, CLAMD_ADDRESS: 'clamav.internal:3310' }).clamd, { host: 'clamav.internal', port: 3310 });
  t.equal(loadConfig(base).clamd, undefined, 'unset: the scan is off');
  for (const bad of ['clamav', 'clamav:0', 'clamav:99999', 'tcp://clamav:3310']) t.throws(() => loadConfig({ ...base, CLAMD_ADDRESS: bad }), /CLAMD_ADDRESS must be host:port/);
  t.ok(JOBS.some((j) => j.name === 'documents.scan'));
});

t.test('readyz: the virus scan is up; when clamd stops answering it is named, without failing the replica', async (t) => {
  let res = await p.app.inject({ url: '/readyz', headers: { host: 'probe' } });
  t.equal(res.statusCode, 200);
  t.equal(res.json().services['virus scan'], 'up');
  await clamd.close();
  res = await p.app.inject({ url: '/readyz', headers: { host: 'probe' } });
  t.equal(res.statusCode, 200, 'serving does not need clamd');
  t.same(res.json().degraded, ['virus scan']);
  t.match(res.json().services['virus scan'], new RegExp(`^down: clamd at 127\\.0\\.0\\.1:${clamdPort} does not answer`));
  clamd = await fakeClamd(64 * 1024, clamdPort);
  res = await p.app.inject({ url: '/readyz', headers: { host: 'probe' } });
  t.equal(res.json().services['virus scan'], 'up');
});

t.test('a clean file: served with a pending header until its verdict, then plainly', async (t) => {
  const file = await fileOf(alix, 'rapport.txt', 'un rapport sans virus');
  const versionId = await currentVersion(h.nord, file.id);
  t.same(await scanRow(h.nord, versionId), { status: 'pending', finding: null });
  t.ok((await enqueuedScans(h.nord)).includes(versionId), 'a documents.scan job is enqueued');
  const pending = await send(h, alix, 'GET', `/documents/fichiers/${file.id}`);
  t.equal(pending.status, 200, 'a pending file is served, not held');
  t.equal(pending.headers['x-virus-scan'], 'pending');

  t.same(await runScan(h.nord, file.id), { verdict: 'clean' });
  t.equal(clamd.lastBytes, Buffer.byteLength('un rapport sans virus'), 'the whole object was streamed to clamd');
  const clean = await send(h, alix, 'GET', `/documents/fichiers/${file.id}`);
  t.equal(clean.status, 200);
  t.equal(clean.headers['x-virus-scan'], undefined);
  t.equal(clean.body.toString(), 'un rapport sans virus');
  const scans = clamd.scans;
  t.same(await runScan(h.nord, file.id), { skipped: 'already clean' }, 'a retried job does not scan again');
  t.equal(clamd.scans, scans);
});

t.test('an infected file is quarantined on every path, its owner told; copies and re-uploads with it', async (t) => {
  const file = await fileOf(alix, 'facture.pdf.exe', EICAR);
  // A link and a share made before the verdict.
  const link = JSON.parse((await send(h, alix, 'POST', `/documents/elements/${file.id}/liens`, { headers: json, body: '{}' })).body.toString());
  const shared = await send(h, alix, 'POST', `/documents/elements/${file.id}/partages`, { headers: json, body: JSON.stringify({ personne: 'bea@univ-nord.example', acces: 'read' }) });
  t.equal(shared.status, 200);

  t.same(await runScan(h.nord, file.id), { verdict: 'infected', finding: 'Eicar-Test-Signature' });

  const own = await send(h, alix, 'GET', `/documents/fichiers/${file.id}`);
  t.equal(own.status, 403);
  t.match(JSON.parse(own.body.toString()).error.message, /quarantaine/);
  t.equal((await send(h, bea, 'GET', `/documents/fichiers/${file.id}`)).status, 403, 'the person it was shared with cannot download it');
  const anonymous = await p.app.inject({ method: 'GET', url: `/p/${link.token}/telecharger`, headers: { host: alix.host } });
  t.equal(anonymous.statusCode, 403, 'nor can the public link');
  t.notMatch(anonymous.body, /EICAR/);

  const reshare = await send(h, alix, 'POST', `/documents/elements/${file.id}/partages`, { headers: json, body: JSON.stringify({ personne: 'bea@univ-nord.example', acces: 'write' }) });
  t.equal(reshare.status, 403, 'no new share');
  t.equal((await send(h, alix, 'POST', `/documents/elements/${file.id}/liens`, { headers: json, body: '{}' })).status, 403, 'no new public link');

  const told = await p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('notifications').select(['title', 'body', 'link']).where('person_id', '=', alix.personId).where('category', '=', 'documents' as never).execute());
  t.equal(told.length, 1);
  t.match(told[0]!.title, /facture\.pdf\.exe/);
  t.match(told[0]!.body, /Eicar-Test-Signature/);

  const copy = JSON.parse((await send(h, alix, 'POST', `/documents/elements/${file.id}/copier`, { headers: json, body: JSON.stringify({ cible: '' }) })).body.toString());
  t.equal((await send(h, alix, 'GET', `/documents/fichiers/${copy.id}`)).status, 403, 'a copy is the same content: quarantined too');
  const before = (await enqueuedScans(h.nord)).length;
  const again = await fileOf(bea, 'innocent.txt', EICAR);
  t.equal((await send(h, bea, 'GET', `/documents/fichiers/${again.id}`)).status, 403, 'the same content uploaded again is refused at once');
  t.equal((await enqueuedScans(h.nord)).length, before, 'and not scanned again');
});

t.test('a group space goes through the same quarantine: no member downloads an infected file', async (t) => {
  const team = await groupWith(h, h.nord, 'Équipe analyse', [[alix, 'owner'], [bea, 'member']]);
  const content = Buffer.from(`groupe ${EICAR}`);
  const put = await send(h, alix, 'PUT', `/documents/groupes/${team}/fichiers?nom=groupe.exe`, { headers: { 'content-type': 'application/octet-stream', 'content-length': content.length }, body: content });
  t.equal(put.status, 200);
  const file = JSON.parse(put.body.toString()).file as { id: string };
  const pending = await send(h, bea, 'GET', `/documents/groupes/${team}/fichiers/${file.id}`);
  t.equal(pending.status, 200, 'before the verdict a member downloads it');
  t.equal(pending.headers['x-virus-scan'], 'pending', 'with the pending header');

  t.same(await runScan(h.nord, file.id), { verdict: 'infected', finding: 'Eicar-Test-Signature' });
  for (const who of [alix, bea]) {
    const res = await send(h, who, 'GET', `/documents/groupes/${team}/fichiers/${file.id}`);
    t.equal(res.status, 403, 'refused once infected');
    t.notMatch(res.body.toString('latin1'), /EICAR/);
  }
});

t.test("verdicts stay in their tenant: the same content in another tenant has its own scan", async (t) => {
  const file = await fileOf(sam, 'eicar.txt', EICAR);
  const res = await send(h, sam, 'GET', `/documents/fichiers/${file.id}`);
  t.equal(res.status, 200, "nord's verdict is not sud's");
  t.equal(res.headers['x-virus-scan'], 'pending');
  t.same(await runScan(h.sud, file.id), { verdict: 'infected', finding: 'Eicar-Test-Signature' });
  t.equal((await send(h, sam, 'GET', `/documents/fichiers/${file.id}`)).status, 403);
});

t.test('a file larger than clamd accepts is served as unscanned; clamd down leaves the file pending and the job failing', async (t) => {
  const big = await fileOf(alix, 'gros.bin', Buffer.alloc(200 * 1024, 7));
  t.same(await runScan(h.nord, big.id), { verdict: 'unscanned', finding: 'larger than clamd StreamMaxLength' });
  const res = await send(h, alix, 'GET', `/documents/fichiers/${big.id}`);
  t.equal(res.status, 200);
  t.equal(res.headers['x-virus-scan'], 'unscanned');

  const file = await fileOf(alix, 'plus-tard.txt', 'attendra clamd');
  await clamd.close();
  await t.rejects(runScan(h.nord, file.id), /clamd at 127\.0\.0\.1:\d+ does not answer/, 'the job fails, to be retried');
  t.same(await scanRow(h.nord, await currentVersion(h.nord, file.id)), { status: 'pending', finding: null });
  clamd = await fakeClamd(64 * 1024, clamdPort);
  t.same(await runScan(h.nord, file.id), { verdict: 'clean' }, 'the retry gives the verdict');
});

t.test('the version sent for scanning was deleted: a copy with the same content is scanned; with none left, the pending verdict goes', async (t) => {
  const original = await fileOf(alix, 'original.txt', 'contenu copié puis supprimé');
  const versionId = await currentVersion(h.nord, original.id);
  const copy = JSON.parse((await send(h, alix, 'POST', `/documents/elements/${original.id}/copier`, { headers: json, body: JSON.stringify({ cible: '' }) })).body.toString());
  t.ok(copy.id);
  await send(h, alix, 'POST', `/documents/elements/${original.id}/supprimer`, { headers: json, body: '{}' });
  await send(h, alix, 'POST', '/documents/corbeille/vider', { headers: json, body: '{}' });
  const job = (id: string) => documentsScanJob.handle({ tenantId: h.nord, versionId: id }, { jobId: 'test', attempt: 1, log: testLog }, jobDeps);
  t.same(await job(versionId), { verdict: 'clean' }, "the copy's object was sent instead");
  t.equal((await send(h, alix, 'GET', `/documents/fichiers/${copy.id}`)).headers['x-virus-scan'], undefined);

  const lonely = await fileOf(alix, 'seul.txt', 'personne ne le copie');
  const lonelyVersion = await currentVersion(h.nord, lonely.id);
  await send(h, alix, 'POST', `/documents/elements/${lonely.id}/supprimer`, { headers: json, body: '{}' });
  await send(h, alix, 'POST', '/documents/corbeille/vider', { headers: json, body: '{}' });
  t.same(await job(lonelyVersion), { skipped: 'content deleted' });
  const left = await p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_scans').select('sha256').where('version_id', '=', lonelyVersion).execute());
  t.same(left, [], 'no pending verdict is left behind');
});

t.test('verdicts pending for over an hour are asked again by the nightly reconciliation', async (t) => {
  const file = await fileOf(alix, 'oublie.txt', 'un job perdu');
  const versionId = await currentVersion(h.nord, file.id);
  await p.database.app.withTenant(h.nord, (trx) => trx.updateTable('document_scans').set({ created_at: new Date(Date.now() - 2 * 3_600_000) }).where('version_id', '=', versionId).execute());
  const asked: { name: string; payload: { versionId: string } }[] = [];
  const jobs = { enqueue: async (name: string, payload: unknown) => (asked.push({ name, payload: payload as { versionId: string } }), { id: 'x' }) };
  const { documentsReconcileJob } = await import('../../src/documents/reconcile.js');
  const result = (await documentsReconcileJob.handle({ tenantId: h.nord }, { jobId: 'test', attempt: 1, log: testLog }, { ...jobDeps, jobs: jobs as never })) as { scansRequeued: number };
  t.equal(result.scansRequeued, 1, 'only the one pending for over an hour');
  t.same(asked.filter((a) => a.name === 'documents.scan').map((a) => a.payload.versionId), [versionId]);
});
