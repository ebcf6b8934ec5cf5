// The optional virus scan of new documents (CLAMD_ADDRESS): every version stored while the scan
// is on gets a verdict from clamd, by the documents.scan job, which streams the object from S3
// to clamd with the INSTREAM command (a small client below: no library needed for four commands'
// worth of protocol, and none to pin).
//
// Verdicts are per content (migrations/0019: keyed by SHA-256), so a copy, a re-upload or a
// restored version of an infected file is quarantined with it.
//
// While a verdict is pending the file is served, with an `x-virus-scan: pending` header, not
// held: the scan is a second line of defence (mail gateways and the recipients' own antivirus
// are the first), a verdict comes within seconds when clamd is healthy, and holding would make
// every new file unusable whenever clamd is slow or down. Once found infected, a file is
// quarantined everywhere at once: service.open (every download path: own files, shares, public
// links) refuses it, sharing refuses new shares and links to it, and its owner is notified.
import { connect, type Socket } from 'node:net';
import { Type } from '@sinclair/typebox';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { UnrecoverableError } from 'bullmq';
import type { Config } from '../config.js';
import type { Jobs } from '../jobs/client.js';
import { defineJob } from '../jobs/deps.js';
import type { DbHandle, TenantDb } from '../platform/db.js';
import { bucketFor } from '../platform/storage.js';
import { DomainError } from '../platform/errors.js';
import { notify } from '../notifications/service.js';
import './tables.js';

export type ScanStatus = 'pending' | 'clean' | 'infected' | 'unscanned';

export interface DocumentScansTable {
  tenant_id: string;
  sha256: string;
  status: ScanStatus;
  finding: string | null;
  version_id: string;
  created_at: Date | undefined;
  scanned_at: Date | null | undefined;
}

declare module '../platform/database.js' {
  interface Database {
    document_scans: DocumentScansTable;
  }
}

export type ClamdAddress = NonNullable<Config['clamd']>;

/** 403 on download and share: the message is for the person who asked. */
export class QuarantinedError extends DomainError {
  constructor(message = "Ce fichier est en quarantaine : l'analyse antivirus y a trouvé un virus. Il ne peut être ni téléchargé ni partagé ; son propriétaire a été prévenu.") {
    super(403, 'quarantined', message);
  }
}

// ---- clamd client --------------------------------------------------------------------------

export class ClamdError extends Error {
  override name = 'ClamdError';
}

/** clamd's default StreamMaxLength is 25 MB; chunks well below it, big enough to keep the socket busy. */
const CHUNK = 64 * 1024;

function open(address: ClamdAddress, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new ClamdError(`clamd at ${address.host}:${address.port} timed out`)));
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => reject(new ClamdError(`clamd at ${address.host}:${address.port} does not answer (${error.code ?? error.message})`)));
  });
}

/** Everything clamd says until it closes the connection or ends a reply with NUL. */
function reply(socket: Socket, address: ClamdAddress): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('utf8').replace(/\0[\s\S]*$/, '').trim());
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (chunk.includes(0)) {
        done();
        socket.end();
      }
    });
    socket.once('end', done);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // clamd closes as soon as a stream passes its limit: what it said before is the answer.
      if (chunks.length) done();
      else reject(new ClamdError(`clamd at ${address.host}:${address.port}: ${error.code ?? error.message}`, { cause: error }));
    });
  });
}

export async function clamdPing(address: ClamdAddress, timeoutMs = 2000): Promise<void> {
  const socket = await open(address, timeoutMs);
  const answer = reply(socket, address);
  socket.write('zPING\0');
  const text = await answer.finally(() => socket.destroy());
  if (text !== 'PONG') throw new ClamdError(`clamd at ${address.host}:${address.port} answered "${text.slice(0, 80)}" to PING`);
}

export type Verdict = { status: 'clean' } | { status: 'infected'; signature: string } | { status: 'unscanned'; reason: string };

/** Streams `content` to clamd (INSTREAM: 4-byte big-endian length + bytes, then a zero length). */
export async function clamdScan(address: ClamdAddress, content: Readable, timeoutMs = 60_000): Promise<Verdict> {
  const socket = await open(address, timeoutMs);
  const answer = reply(socket, address);
  let sent = 0;
  const write = (buffer: Buffer) =>
    new Promise<void>((resolve, reject) => {
      if (socket.destroyed || socket.writableEnded) return reject(new ClamdError('clamd closed the stream'));
      if (socket.write(buffer)) return resolve();
      const onDrain = () => {
        socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        socket.off('drain', onDrain);
        reject(new ClamdError('clamd closed the stream'));
      };
      socket.once('drain', onDrain);
      socket.once('close', onClose);
    });
  try {
    await write(Buffer.from('zINSTREAM\0'));
    for await (const data of content) {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
      sent += buffer.length;
      for (let i = 0; i < buffer.length; i += CHUNK) {
        const part = buffer.subarray(i, i + CHUNK);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(part.length);
        await write(Buffer.concat([head, part]));
      }
    }
    await write(Buffer.alloc(4));
  } catch (error) {
    // clamd stopped reading (size limit): its reply says why; anything else is a failure.
    if (!(error instanceof ClamdError)) {
      socket.destroy();
      throw error;
    }
    content.destroy();
  }
  let text: string;
  try {
    text = await answer.finally(() => socket.destroy());
  } catch (error) {
    // Reset mid-stream before its reply could be read: what clamd does when a stream passes its
    // StreamMaxLength while the client is still sending (the reply can be lost with the unread
    // data). A clamd that dies mid-scan looks the same; either way the file stays served, marked.
    if (sent > 0 && ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET') {
      return { status: 'unscanned', reason: 'clamd closed the connection mid-stream (larger than its StreamMaxLength?)' };
    }
    throw error;
  }
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found) return { status: 'infected', signature: found[1]!.slice(0, 200) };
  if (text === 'stream: OK') return { status: 'clean' };
  if (/size limit exceeded/i.test(text)) return { status: 'unscanned', reason: 'larger than clamd StreamMaxLength' };
  throw new ClamdError(`clamd answered "${text.slice(0, 200)}"`);
}

// ---- verdicts ------------------------------------------------------------------------------

/** The verdict on this content, if it was ever sent to the scan. */
export async function scanStatus(trx: TenantDb, sha256: string): Promise<ScanStatus | undefined> {
  const row = await trx.selectFrom('document_scans').select('status').where('sha256', '=', sha256).executeTakeFirst();
  return row?.status;
}

/** For download: throws when quarantined, else says what the header should (pending, unscanned). */
export async function downloadGate(trx: TenantDb, sha256: string): Promise<'pending' | 'unscanned' | undefined> {
  const status = await scanStatus(trx, sha256);
  if (status === 'infected') throw new QuarantinedError();
  return status === 'pending' || status === 'unscanned' ? status : undefined;
}

/** For sharing: a file whose current content is infected is not shared nor linked. */
export async function assertShareable(trx: TenantDb, node: { kind: string; currentVersionId: string | null }): Promise<void> {
  if (node.kind !== 'file' || !node.currentVersionId) return;
  const version = await trx.selectFrom('document_versions').select('sha256').where('id', '=', node.currentVersionId).executeTakeFirst();
  if (version && (await scanStatus(trx, version.sha256)) === 'infected') {
    throw new QuarantinedError("Ce fichier est en quarantaine (l'analyse antivirus y a trouvé un virus) : il ne peut pas être partagé.");
  }
}

export interface ScanRequester {
  (tenantId: string, version: { id: string; sha256: string }): Promise<void>;
}

/**
 * What the documents service calls after storing a version, when the scan is on: a pending
 * verdict (unless this content already has one) and a documents.scan job. Never throws: the file
 * is stored; if the job cannot be enqueued the verdict stays pending (served with the header)
 * and the failure is logged.
 */
export function scanRequester(deps: { database: DbHandle; jobs: Pick<Jobs, 'enqueue'>; log: (error: unknown) => void }): ScanRequester {
  return async (tenantId, version) => {
    try {
      const inserted = await deps.database.withTenant(tenantId, (trx) =>
        trx
          .insertInto('document_scans')
          .values({ tenant_id: tenantId, sha256: version.sha256, status: 'pending', finding: null, version_id: version.id })
          .onConflict((oc) => oc.columns(['tenant_id', 'sha256']).doNothing())
          .returning('sha256')
          .executeTakeFirst(),
      );
      if (inserted) await deps.jobs.enqueue('documents.scan', { tenantId, versionId: version.id }, { key: `${tenantId}:${version.sha256}` });
    } catch (error) {
      deps.log(error);
    }
  };
}

/**
 * Verdicts still pending after `olderThanMs` (their job could not be enqueued, or failed every
 * attempt while clamd was down) get a new documents.scan job, once a day at most per content.
 * Run by documents.reconcile.
 */
export async function requeuePendingScans(deps: { database: DbHandle; jobs: Pick<Jobs, 'enqueue'> }, tenantId: string, olderThanMs: number, now = new Date()): Promise<number> {
  const stale = await deps.database.withTenant(tenantId, (trx) =>
    trx.selectFrom('document_scans').select(['sha256', 'version_id']).where('status', '=', 'pending').where('created_at', '<', new Date(now.getTime() - olderThanMs)).orderBy('created_at').limit(1000).execute(),
  );
  const day = now.toISOString().slice(0, 10);
  for (const s of stale) await deps.jobs.enqueue('documents.scan', { tenantId, versionId: s.version_id }, { key: `${tenantId}:${s.sha256}:${day}` });
  return stale.length;
}

const WORDS = {
  fr: {
    title: (name: string) => `« ${name} » est en quarantaine`,
    body: (signature: string) =>
      `L'analyse antivirus a trouvé « ${signature} » dans ce fichier. Il ne peut plus être téléchargé ni partagé, par vous comme par les personnes avec qui vous l'aviez partagé. Supprimez-le ; si vous pensez qu'il s'agit d'une erreur, contactez le support de votre établissement.`,
  },
  en: {
    title: (name: string) => `"${name}" is quarantined`,
    body: (signature: string) =>
      `The virus scan found "${signature}" in this file. It can no longer be downloaded or shared, by you or by the people you had shared it with. Delete it; if you believe this is a mistake, contact your institution's support.`,
  },
};

// documents.scan: one content's verdict. Idempotent: a verdict already given is not asked again.
// clamd unreachable: the job fails and is retried (backing off); the file stays pending meanwhile.
export const documentsScanJob = defineJob({
  name: 'documents.scan',
  lane: 'default',
  payload: { versionId: Type.String({ pattern: '^[0-9a-f-]{36}$' }) },
  attempts: 10,
  backoffMs: 10_000,
  async handle(payload, { log }, { database, registry, storage, config, jobs }) {
    const tenant = registry.byId(payload.tenantId);
    if (!tenant) throw new UnrecoverableError(`no tenant ${payload.tenantId} in the registry`);
    if (!storage) throw new UnrecoverableError('documents.scan needs the storage (run it in the worker role)');
    const clamd = config.clamd;
    if (!clamd) throw new UnrecoverableError('documents.scan: CLAMD_ADDRESS is not set in this worker');
    const version = await database.withTenant(tenant.id, async (trx) => {
      const asked = await trx.selectFrom('document_versions').select(['id', 'object_key', 'sha256']).where('id', '=', payload.versionId).executeTakeFirst();
      if (asked) return asked;
      // That version is gone (pruned, purged): another with the same content will do; with none
      // left, the pending verdict has nothing to judge and goes.
      const scan = await trx.selectFrom('document_scans').select('sha256').where('version_id', '=', payload.versionId).where('status', '=', 'pending').executeTakeFirst();
      if (!scan) return undefined;
      const other = await trx.selectFrom('document_versions').select(['id', 'object_key', 'sha256']).where('sha256', '=', scan.sha256).limit(1).executeTakeFirst();
      if (!other) await trx.deleteFrom('document_scans').where('sha256', '=', scan.sha256).execute();
      return other;
    });
    if (!version) return { skipped: 'content deleted' };
    const status = await database.withTenant(tenant.id, (trx) => scanStatus(trx, version.sha256));
    if (status !== 'pending') return { skipped: `already ${status ?? 'not asked'}` };

    const object = await storage.client.send(new GetObjectCommand({ Bucket: bucketFor(storage, tenant), Key: version.object_key }));
    const verdict = await clamdScan(clamd, object.Body as Readable);
    const finding = verdict.status === 'infected' ? verdict.signature : verdict.status === 'unscanned' ? verdict.reason : null;
    const owners = await database.withTenant(tenant.id, async (trx) => {
      await trx.updateTable('document_scans').set({ status: verdict.status, finding, scanned_at: new Date() }).where('sha256', '=', version.sha256).execute();
      if (verdict.status !== 'infected') return [];
      // Every live file holding this content, whoever owns it (copies included).
      return trx
        .selectFrom('document_versions as v')
        .innerJoin('document_nodes as n', (j) => j.onRef('n.tenant_id', '=', 'v.tenant_id').onRef('n.id', '=', 'v.node_id'))
        .select(['n.id', 'n.name', 'n.owner_id'])
        .where('v.sha256', '=', version.sha256)
        .where('n.deleted_at', 'is', null)
        .distinct()
        .limit(1000)
        .execute();
    });
    if (verdict.status === 'infected') {
      log.warn({ versionId: version.id, signature: verdict.signature, files: owners.length }, 'infected document quarantined');
      const words = WORDS[tenant.declaration.defaultLocale];
      for (const file of owners) {
        await notify(
          { database, registry, ...(jobs ? { jobs } : {}) },
          { tenantId: tenant.id, personId: file.owner_id, category: 'documents', title: words.title(file.name.slice(0, 150)), body: words.body(verdict.signature), link: `/documents/fichiers/${file.id}/versions` },
        );
      }
    }
    return { verdict: verdict.status, ...(finding ? { finding } : {}) };
  },
});
