// SQL of the documents feature (migrations/0006_documents.sql). Every function takes the tenant
// transaction it runs in (database.withTenant), so RLS scopes it; none talks to S3.
import { sql } from 'kysely';
import type { TenantDb } from '../platform/db.js';
import type { DocumentNodesTable } from './tables.js';
import type { Selectable } from 'kysely';

export type NodeRow = Selectable<DocumentNodesTable>;

export interface DocumentNode {
  id: string;
  spaceId: string;
  ownerId: string;
  parentId: string | null;
  kind: 'folder' | 'file';
  name: string;
  size: number;
  contentType: string | null;
  currentVersionId: string | null;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DocumentVersion {
  id: string;
  nodeId: string;
  objectKey: string;
  size: number;
  contentType: string;
  sha256: string;
  createdAt: Date;
  /** Set by service.open while the virus scan has no verdict, or could not give one (scan.ts). */
  scan?: 'pending' | 'unscanned';
}

export const toNode = (row: NodeRow): DocumentNode => ({
  id: row.id,
  spaceId: row.space_id,
  ownerId: row.owner_id,
  parentId: row.parent_id,
  kind: row.kind,
  name: row.name,
  size: Number(row.size),
  contentType: row.content_type,
  currentVersionId: row.current_version_id,
  deletedAt: row.deleted_at,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** A live (not trashed) node of this space, or undefined. */
export async function liveNode(trx: TenantDb, spaceId: string, id: string, lock = false): Promise<DocumentNode | undefined> {
  let query = trx.selectFrom('document_nodes').selectAll().where('id', '=', id).where('space_id', '=', spaceId).where('deleted_at', 'is', null);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toNode(row);
}

export async function children(trx: TenantDb, spaceId: string, parentId: string | null): Promise<DocumentNode[]> {
  const rows = await trx
    .selectFrom('document_nodes')
    .selectAll()
    .where('space_id', '=', spaceId)
    .where((eb) => (parentId ? eb('parent_id', '=', parentId) : eb('parent_id', 'is', null)))
    .where('deleted_at', 'is', null)
    .orderBy('kind', 'desc')
    .orderBy(sql`lower(name)`)
    .execute();
  return rows.map(toNode);
}

/** The folders from the root down to `id` (included). */
export async function ancestry(trx: TenantDb, id: string): Promise<DocumentNode[]> {
  const rows = await sql<NodeRow & { depth: number }>`
    with recursive up as (
      select n.*, 0 as depth from document_nodes n where n.id = ${id}
      union all
      select p.*, up.depth + 1 from document_nodes p join up on p.id = up.parent_id and p.tenant_id = up.tenant_id
    )
    select * from up order by depth desc`.execute(trx);
  return rows.rows.map(toNode);
}

/** `id` and everything under it. */
export async function subtree(trx: TenantDb, id: string): Promise<DocumentNode[]> {
  const rows = await sql<NodeRow>`
    with recursive down as (
      select n.* from document_nodes n where n.id = ${id}
      union all
      select c.* from document_nodes c join down on c.parent_id = down.id and c.tenant_id = down.tenant_id
    )
    select * from down`.execute(trx);
  return rows.rows.map(toNode);
}

export async function nameTaken(trx: TenantDb, spaceId: string, parentId: string | null, name: string, exceptId?: string): Promise<DocumentNode | undefined> {
  let query = trx
    .selectFrom('document_nodes')
    .selectAll()
    .where('space_id', '=', spaceId)
    .where((eb) => (parentId ? eb('parent_id', '=', parentId) : eb('parent_id', 'is', null)))
    .where(sql<boolean>`lower(name) = lower(${name})`)
    .where('deleted_at', 'is', null);
  if (exceptId) query = query.where('id', '<>', exceptId);
  const row = await query.executeTakeFirst();
  return row && toNode(row);
}

export async function versionsOf(trx: TenantDb, nodeId: string): Promise<DocumentVersion[]> {
  const rows = await trx.selectFrom('document_versions').selectAll().where('node_id', '=', nodeId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  return rows.map((r) => ({ id: r.id, nodeId: r.node_id, objectKey: r.object_key, size: Number(r.size), contentType: r.content_type, sha256: r.sha256, createdAt: r.created_at }));
}

// ---- Quota bookkeeping ---------------------------------------------------------------------
// Rows are locked tenant row first, then the space row, everywhere: concurrent transactions
// queue in one order and cannot deadlock.

export interface Limits {
  tenantId: string;
  spaceId: string;
  spaceLimit: number;
  tenantLimit: number;
}

/**
 * Reserving and releasing do not wait for the WAL flush at COMMIT (synchronous_commit off for
 * that transaction only): the tenant's usage row stays locked until COMMIT and every upload of the
 * tenant queues on it, so a flush under the lock bounded a tenant to a few uploads a second
 * (bench/documents). What a database crash can lose: a reservation (its upload then fails at
 * consume, nothing recorded) or a release (a stale reservation, given back by documents.reconcile).
 * Recording a file (consume) keeps the flush: a stored file is never lost.
 */
async function noFlushWait(trx: TenantDb): Promise<void> {
  await sql`set local synchronous_commit = off`.execute(trx);
}

/**
 * Makes the tenant's and the space's usage rows if they are missing (a first upload). Sent before
 * lockUsage, never after: creating a row once the other is locked would lock out of order.
 */
function ensureUsageRows(trx: TenantDb, tenantId: string, spaceId: string) {
  return trx
    .insertInto('document_usage')
    .values([
      { tenant_id: tenantId, space_id: tenantId, used: 0, reserved: 0 },
      { tenant_id: tenantId, space_id: spaceId, used: 0, reserved: 0 },
    ])
    .onConflict((oc) => oc.columns(['tenant_id', 'space_id']).doNothing())
    .execute();
}

/**
 * Locks the tenant's row, then the space's, in one statement (the sort sits below the row
 * locking, so rows are locked in that order). Every upload of a tenant waits on its row: the
 * functions below hold it for as few round trips as they can, since under load each round trip
 * also waits for the Node event loop. The rows exist: a reservation made them (ensureUsageRows).
 */
async function lockUsage(trx: TenantDb, tenantId: string, spaceId: string) {
  const rows = await trx
    .selectFrom('document_usage')
    .select(['space_id', 'used', 'reserved'])
    .where('space_id', 'in', [tenantId, spaceId])
    .orderBy(sql`space_id = ${tenantId}`, 'desc')
    .forUpdate()
    .execute();
  const tenantRow = rows.find((r) => r.space_id === tenantId);
  const spaceRow = rows.find((r) => r.space_id === spaceId);
  if (!tenantRow || !spaceRow) throw new Error('documents: usage rows missing');
  return { tenant: { used: Number(tenantRow.used), reserved: Number(tenantRow.reserved) }, space: { used: Number(spaceRow.used), reserved: Number(spaceRow.reserved) } };
}

/** Both rows at once: they are already locked by this transaction (lockUsage), in order. */
function addUsage(trx: TenantDb, tenantId: string, spaceId: string, delta: { used?: number; reserved?: number }) {
  return trx
    .updateTable('document_usage')
    .set({ used: sql`used + ${delta.used ?? 0}::bigint`, reserved: sql`reserved + ${delta.reserved ?? 0}::bigint` })
    .where('space_id', 'in', [tenantId, spaceId]);
}

/**
 * Reserves up to `wanted` bytes (as much as both the space and the tenant have left) and records
 * the reservation. Returns the bytes granted and which limit bounded them.
 */
export async function reserve(trx: TenantDb, limits: Limits, reservationId: string, wanted: number): Promise<{ granted: number; boundBy: 'request' | 'space' | 'tenant' }> {
  // Sent together, run in this order: one round trip.
  const [, , usage] = await Promise.all([noFlushWait(trx), ensureUsageRows(trx, limits.tenantId, limits.spaceId), lockUsage(trx, limits.tenantId, limits.spaceId)]);
  const spaceLeft = Math.max(0, limits.spaceLimit - usage.space.used - usage.space.reserved);
  const tenantLeft = Math.max(0, limits.tenantLimit - usage.tenant.used - usage.tenant.reserved);
  const granted = Math.min(wanted, spaceLeft, tenantLeft);
  const boundBy = granted === wanted ? 'request' : spaceLeft <= tenantLeft ? 'space' : 'tenant';
  // The reservation row and both counters in one statement.
  await trx
    .with('r', (db) => db.insertInto('document_reservations').values({ tenant_id: limits.tenantId, id: reservationId, space_id: limits.spaceId, bytes: granted }))
    .updateTable('document_usage')
    .set({ reserved: sql`reserved + ${granted}::bigint` })
    .where('space_id', 'in', [limits.tenantId, limits.spaceId])
    .execute();
  return { granted, boundBy };
}

/**
 * Moves `bytes` of a reservation of `spaceId` to used (a file landed). A reservation used up is
 * deleted: true then, and nothing is left to release. The three statements go together (one
 * round trip): none depends on another's answer, and a failure rolls the transaction back.
 */
export async function consume(trx: TenantDb, tenantId: string, spaceId: string, reservationId: string, bytes: number): Promise<boolean> {
  const amount = sql`${bytes}::bigint`;
  const [taken, ...rest] = await Promise.allSettled([
    sql<{ spent: boolean }>`
      with spent as (delete from document_reservations where id = ${reservationId} and space_id = ${spaceId} and bytes = ${amount} returning true as spent),
           kept as (update document_reservations set bytes = bytes - ${amount} where id = ${reservationId} and space_id = ${spaceId} and bytes > ${amount} returning false as spent)
      select spent from spent union all select spent from kept`.execute(trx),
    lockUsage(trx, tenantId, spaceId),
    addUsage(trx, tenantId, spaceId, { used: bytes, reserved: -bytes }).execute(),
  ]);
  const row = taken.status === 'fulfilled' ? taken.value.rows[0] : undefined;
  // No such reservation: say so, rather than what the counters' own check may have said of it.
  if (taken.status === 'fulfilled' && !row) throw new Error('documents: reservation missing or too small');
  for (const outcome of [taken, ...rest]) if (outcome.status === 'rejected') throw outcome.reason;
  return row!.spent;
}

/** Gives back what is left of a reservation; a second call (or one after it was used up) finds nothing and does nothing. */
export async function release(trx: TenantDb, tenantId: string, reservationId: string): Promise<void> {
  const [, row] = await Promise.all([noFlushWait(trx), trx.deleteFrom('document_reservations').where('id', '=', reservationId).returning(['space_id', 'bytes']).executeTakeFirst()]);
  if (!row || Number(row.bytes) === 0) return;
  await lockUsage(trx, tenantId, row.space_id);
  await addUsage(trx, tenantId, row.space_id, { reserved: -Number(row.bytes) }).execute();
}

/** Frees bytes that were used (versions pruned, trash emptied). */
export async function freeUsed(trx: TenantDb, tenantId: string, spaceId: string, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await lockUsage(trx, tenantId, spaceId);
  await addUsage(trx, tenantId, spaceId, { used: -bytes }).execute();
}

export async function usageOf(trx: TenantDb, spaceId: string): Promise<{ used: number; reserved: number }> {
  const row = await trx.selectFrom('document_usage').select(['used', 'reserved']).where('space_id', '=', spaceId).executeTakeFirst();
  return { used: Number(row?.used ?? 0), reserved: Number(row?.reserved ?? 0) };
}
