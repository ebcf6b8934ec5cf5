// Reconciliation of a tenant's documents with its objects in S3 (the documents.reconcile job).
//
// The service keeps S3 and PostgreSQL together (service.ts: object first, rows after; rows
// deleted first, objects after), but a crash between the two steps, or an S3 mishap, can still
// leave them apart. Each run, per tenant:
// - objects under `<tenant>/documents/` without a document_versions row, older than the grace
//   period (so an upload in flight, whose row is written just after its object lands, is never
//   touched), are recorded in the report, then deleted;
// - versions whose object is gone (confirmed by a HeadObject answering 404, never on a mere
//   error) are recorded, and then, so that no one is shown a file that cannot be read:
//     an older version is dropped;
//     a file's current version: the newest version still stored becomes current again;
//     a file with no version left is removed;
//   each time with its bytes given back to the quotas and a notification to the file's owner
//   saying what was lost and what was done;
// - reservations of uploads that never finished (a process that crashed mid-upload) and are older
//   than a day are given back to document_usage.
// The report is kept (document_reconciliations) and shown to the tenant's administrators.
//
// How the two lists are compared: the versions' keys are streamed from one cursor ordered in byte
// order (collate "C", which is S3's listing order), the objects are listed page by page, and the
// two sorted streams are merged. Memory holds one page of each, whatever the tenant's size. The
// cursor is opened before the listing starts, so every version it returns had its object stored
// before the listing began: a version missing from the listing is really missing, or was deleted
// meanwhile (re-checked before anything is done).
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { UnrecoverableError } from 'bullmq';
import { sql } from 'kysely';
import { defineJob } from '../jobs/deps.js';
import type { DbHandle, TenantDb } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import { bucketFor, listObjects, tenantKey, type Storage } from '../platform/storage.js';
import type { Tenant } from '../tenancy/registry.js';
import { notify, type NotifyInput } from '../notifications/service.js';
import * as repo from './repository.js';
import { requeuePendingScans } from './scan.js';
import './tables.js';

export interface DocumentReconciliationsTable {
  tenant_id: string;
  id: string;
  bucket: string;
  started_at: Date;
  finished_at: Date | undefined;
  objects_listed: number | bigint;
  versions_listed: number | bigint;
  orphan_objects: OrphanObject[];
  orphan_objects_count: number;
  orphan_bytes: number | bigint;
  missing_objects: MissingObject[];
  missing_objects_count: number;
  reservations_released: number;
  reserved_bytes_released: number | bigint;
}

declare module '../platform/database.js' {
  interface Database {
    document_reconciliations: DocumentReconciliationsTable;
  }
}

export interface OrphanObject {
  key: string;
  size: number;
  lastModified: string;
}

export type MissingOutcome = 'version-dropped' | 'previous-version-current' | 'file-removed' | 'already-gone' | 'not-confirmed';

export interface MissingObject {
  versionId: string;
  nodeId: string;
  name: string;
  size: number;
  ownerId: string;
  outcome: MissingOutcome;
}

export interface Reconciliation {
  id: string;
  bucket: string;
  startedAt: Date;
  finishedAt: Date;
  objectsListed: number;
  versionsListed: number;
  orphanObjects: OrphanObject[];
  orphanObjectsCount: number;
  orphanBytes: number;
  missingObjects: MissingObject[];
  missingObjectsCount: number;
  reservationsReleased: number;
  reservedBytesReleased: number;
}

export interface ReconcileOptions {
  /** Objects younger than this are left alone (an upload may be between its object and its row). */
  graceMs?: number;
  /** Reservations older than this belong to uploads that will never finish. */
  reservationMaxAgeMs?: number;
  /** Reports kept per tenant. */
  keep?: number;
  now?: () => Date;
}

export interface ReconcileDeps {
  database: DbHandle;
  storage: Storage;
  /** Tells a file's owner what was lost (notifications service); absent: report only. */
  notify?: (input: NotifyInput) => Promise<unknown>;
}

const HOUR = 3_600_000;
/** Entries kept in a report's lists (the counts are always complete). */
const LIST_CAP = 1000;

/** The tenant's objects as the report lists them. */
async function* listed(storage: Storage, bucket: string, prefix: string): AsyncGenerator<OrphanObject & { date: Date }> {
  for await (const o of listObjects(storage, bucket, prefix)) yield { key: o.key, size: o.size, lastModified: o.lastModified.toISOString(), date: o.lastModified };
}

/** Byte order, as S3 lists keys (keys are ASCII: tenantKey() builds them from uuids). */
const before = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0;

async function objectIsGone(storage: Storage, bucket: string, key: string): Promise<boolean> {
  try {
    await storage.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return false;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return true;
    throw error;
  }
}

/** Gives back the reservations older than `cutoff`; returns how many and how many bytes. */
async function releaseStaleReservations(trx: TenantDb, tenantId: string, cutoff: Date): Promise<{ count: number; bytes: number }> {
  const stale = await trx.selectFrom('document_reservations').select(['id', 'bytes']).where('created_at', '<', cutoff).orderBy('id').limit(10_000).execute();
  for (const r of stale) await repo.release(trx, tenantId, r.id);
  return { count: stale.length, bytes: stale.reduce((s, r) => s + Number(r.bytes), 0) };
}

/** What to do with a version whose object is gone; runs in one transaction, re-checking everything. */
async function settleMissing(trx: TenantDb, tenantId: string, versionId: string, alsoMissing: Set<string>): Promise<MissingOutcome> {
  const version = await trx.selectFrom('document_versions').select(['id', 'node_id', 'size']).where('id', '=', versionId).forUpdate().executeTakeFirst();
  if (!version) return 'already-gone';
  const node = await trx.selectFrom('document_nodes').select(['id', 'space_id', 'current_version_id']).where('id', '=', version.node_id).forUpdate().executeTakeFirstOrThrow();
  if (node.current_version_id !== version.id) {
    await trx.deleteFrom('document_versions').where('id', '=', version.id).execute();
    await repo.freeUsed(trx, tenantId, node.space_id, Number(version.size));
    return 'version-dropped';
  }
  const previous = await trx
    .selectFrom('document_versions')
    .selectAll()
    .where('node_id', '=', node.id)
    .where('id', '<>', version.id)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const survivor = previous.find((v) => !alsoMissing.has(v.id));
  if (survivor) {
    await trx
      .updateTable('document_nodes')
      .set({ current_version_id: survivor.id, size: survivor.size, content_type: survivor.content_type, updated_at: new Date() })
      .where('id', '=', node.id)
      .execute();
    await trx.deleteFrom('document_versions').where('id', '=', version.id).execute();
    await repo.freeUsed(trx, tenantId, node.space_id, Number(version.size));
    return 'previous-version-current';
  }
  // Nothing of the file is left: the node goes, with every version row it had (all missing).
  const bytes = Number(version.size) + previous.reduce((s, v) => s + Number(v.size), 0);
  await trx.deleteFrom('document_nodes').where('id', '=', node.id).execute();
  await repo.freeUsed(trx, tenantId, node.space_id, bytes);
  return 'file-removed';
}

const MESSAGES = {
  fr: {
    title: (name: string) => `« ${name} » : contenu perdu par le stockage`,
    'version-dropped': "Une ancienne version de ce fichier n'était plus lisible dans le stockage ; elle a été retirée de l'historique. La version actuelle n'est pas touchée.",
    'previous-version-current': "La dernière version de ce fichier n'était plus lisible dans le stockage. La version précédente est redevenue la version actuelle : vérifiez-la et envoyez de nouveau le fichier si besoin.",
    'file-removed': "Le contenu de ce fichier n'était plus lisible dans le stockage et aucune version n'en restait : le fichier a été retiré de vos documents. Envoyez-le de nouveau si vous en avez une copie.",
  },
  en: {
    title: (name: string) => `"${name}": content lost by the storage`,
    'version-dropped': 'An older version of this file could no longer be read from the storage; it was removed from the history. The current version is untouched.',
    'previous-version-current': 'The latest version of this file could no longer be read from the storage. The previous version is current again: check it and upload the file again if needed.',
    'file-removed': 'The content of this file could no longer be read from the storage and no version of it was left: the file was removed from your documents. Upload it again if you have a copy.',
  },
} as const;

export async function reconcileTenant(deps: ReconcileDeps, tenant: Tenant, options: ReconcileOptions = {}): Promise<Reconciliation> {
  const { database, storage } = deps;
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const graceCutoff = new Date(startedAt.getTime() - (options.graceMs ?? HOUR));
  // The tenant's own bucket when its declaration names one, else the regional one.
  const bucket = bucketFor(storage, tenant);
  const prefix = `${tenantKey(tenant.id, 'documents')}/`;

  // 1. Merge the two sorted streams. Candidates only: nothing is changed while the cursor is open.
  const orphanCandidates: OrphanObject[] = [];
  const missingCandidates: { versionId: string; nodeId: string; key: string; size: number }[] = [];
  let objectsListed = 0;
  let versionsListed = 0;
  await database.withTenant(tenant.id, async (trx) => {
    const rows = trx
      .selectFrom('document_versions')
      .select(['id', 'node_id', 'object_key', 'size'])
      .orderBy(sql`object_key collate "C"`)
      .stream(1000)
      [Symbol.asyncIterator]();
    // The cursor's snapshot is taken here, before the first object is listed.
    let row = (await rows.next()).value;
    const objects = listed(storage, bucket, prefix);
    let object = (await objects.next()).value;
    while (row || object) {
      if (row && (!object || before(row.object_key, object.key))) {
        versionsListed++;
        missingCandidates.push({ versionId: row.id, nodeId: row.node_id, key: row.object_key, size: Number(row.size) });
        row = (await rows.next()).value;
      } else if (object && (!row || before(object.key, row.object_key))) {
        objectsListed++;
        if (object.date < graceCutoff) orphanCandidates.push({ key: object.key, size: object.size, lastModified: object.lastModified });
        object = (await objects.next()).value;
      } else {
        versionsListed++;
        objectsListed++;
        row = (await rows.next()).value;
        object = (await objects.next()).value;
      }
    }
  });

  // 2. Objects without rows: re-checked against the rows now (a row written since the cursor's
  // snapshot wins), recorded, then deleted.
  const orphans: OrphanObject[] = [];
  for (let i = 0; i < orphanCandidates.length; i += 1000) {
    const batch = orphanCandidates.slice(i, i + 1000);
    const present = new Set(
      (await database.withTenant(tenant.id, (trx) => trx.selectFrom('document_versions').select('object_key').where('object_key', 'in', batch.map((o) => o.key)).execute())).map((r) => r.object_key),
    );
    orphans.push(...batch.filter((o) => !present.has(o.key)));
  }

  // 3. Rows without objects: confirmed one by one with S3, then settled.
  const confirmed: typeof missingCandidates = [];
  const missing: MissingObject[] = [];
  for (const c of missingCandidates) {
    if (await objectIsGone(storage, bucket, c.key)) confirmed.push(c);
  }
  const missingIds = new Set(confirmed.map((c) => c.versionId));
  const notices: NotifyInput[] = [];
  const words = MESSAGES[tenant.declaration.defaultLocale];
  for (const c of confirmed) {
    const before = await database.withTenant(tenant.id, (trx) =>
      trx.selectFrom('document_nodes').select(['name', 'owner_id']).where('id', '=', c.nodeId).executeTakeFirst(),
    );
    const outcome = await database.withTenant(tenant.id, (trx) => settleMissing(trx, tenant.id, c.versionId, missingIds));
    missing.push({ versionId: c.versionId, nodeId: c.nodeId, name: before?.name ?? '', size: c.size, ownerId: before?.owner_id ?? '', outcome });
    if (before && outcome !== 'already-gone' && outcome !== 'not-confirmed') {
      notices.push({ tenantId: tenant.id, personId: before.owner_id, category: 'documents', title: words.title(before.name.slice(0, 150)), body: words[outcome], link: '/documents' });
    }
  }

  // 4. Uploads that never finished.
  const released = await database.withTenant(tenant.id, (trx) => releaseStaleReservations(trx, tenant.id, new Date(startedAt.getTime() - (options.reservationMaxAgeMs ?? 24 * HOUR))));

  // 5. The report first, then the deletions: what is removed is always on record.
  const report: Reconciliation = {
    id: newId(),
    bucket,
    startedAt,
    finishedAt: now(),
    objectsListed,
    versionsListed,
    orphanObjects: orphans.slice(0, LIST_CAP),
    orphanObjectsCount: orphans.length,
    orphanBytes: orphans.reduce((s, o) => s + o.size, 0),
    missingObjects: missing.slice(0, LIST_CAP),
    missingObjectsCount: missing.length,
    reservationsReleased: released.count,
    reservedBytesReleased: released.bytes,
  };
  await database.withTenant(tenant.id, async (trx) => {
    await trx
      .insertInto('document_reconciliations')
      .values({
        tenant_id: tenant.id,
        id: report.id,
        bucket,
        started_at: startedAt,
        finished_at: report.finishedAt,
        objects_listed: objectsListed,
        versions_listed: versionsListed,
        orphan_objects: report.orphanObjects,
        orphan_objects_count: report.orphanObjectsCount,
        orphan_bytes: report.orphanBytes,
        missing_objects: report.missingObjects,
        missing_objects_count: report.missingObjectsCount,
        reservations_released: report.reservationsReleased,
        reserved_bytes_released: report.reservedBytesReleased,
      })
      .execute();
    const keep = options.keep ?? 60;
    await sql`delete from document_reconciliations where id in (select id from document_reconciliations order by started_at desc offset ${keep})`.execute(trx);
  });
  for (const o of orphans) await storage.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.key }));
  for (const n of notices) await deps.notify?.(n);
  return report;
}

const toReport = (r: Omit<DocumentReconciliationsTable, 'tenant_id'>): Reconciliation => ({
  id: r.id,
  bucket: r.bucket,
  startedAt: r.started_at,
  finishedAt: r.finished_at ?? r.started_at,
  objectsListed: Number(r.objects_listed),
  versionsListed: Number(r.versions_listed),
  orphanObjects: r.orphan_objects,
  orphanObjectsCount: r.orphan_objects_count,
  orphanBytes: Number(r.orphan_bytes),
  missingObjects: r.missing_objects,
  missingObjectsCount: r.missing_objects_count,
  reservationsReleased: r.reservations_released,
  reservedBytesReleased: Number(r.reserved_bytes_released),
});

/** The tenant's latest reports, newest first. */
export async function recentReconciliations(database: DbHandle, tenantId: string, limit = 30): Promise<Reconciliation[]> {
  const rows = await database.readTenant(tenantId, (db) => db.selectFrom('document_reconciliations').selectAll().orderBy('started_at', 'desc').limit(limit).execute());
  return rows.map(toReport);
}

// documents.reconcile (daily): the run above for the job's tenant. Idempotent: a second run
// finds what the first one left, which is nothing of what it removed.
export const documentsReconcileJob = defineJob({
  name: 'documents.reconcile',
  lane: 'default',
  payload: {},
  attempts: 3,
  backoffMs: 60_000,
  async handle(payload, { log }, { database, registry, storage, jobs, config }) {
    const tenant = registry.byId(payload.tenantId);
    if (!tenant) throw new UnrecoverableError(`no tenant ${payload.tenantId} in the registry`);
    if (!storage) throw new UnrecoverableError('documents.reconcile needs the storage (run it in the worker role)');
    const report = await reconcileTenant({ database, storage, notify: (input) => notify({ database, registry, ...(jobs ? { jobs } : {}) }, input) }, tenant);
    // Verdicts left pending for an hour (the virus scan, when it is on) are asked again.
    const scansRequeued = config.clamd && jobs ? await requeuePendingScans({ database, jobs }, tenant.id, HOUR) : 0;
    const summary = {
      scansRequeued,
      reportId: report.id,
      objectsListed: report.objectsListed,
      versionsListed: report.versionsListed,
      orphanObjects: report.orphanObjectsCount,
      missingObjects: report.missingObjectsCount,
      reservationsReleased: report.reservationsReleased,
    };
    log[report.orphanObjectsCount || report.missingObjectsCount ? 'warn' : 'info'](summary, 'documents reconciled');
    return summary;
  },
});
