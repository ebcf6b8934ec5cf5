// The operator's audit trail (operator_audit, migrations/0007_operator.sql): appended to in the
// same transaction as the action it records where the action is a database change, read by the
// console's journal page. The application role may only INSERT and SELECT it.
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../platform/database.js';
import { newId } from '../platform/ids.js';
import type { AuditAction } from './tables.js';
import './tables.js';

export interface Actor {
  /** The operator's identifier from the operator IdP. */
  readonly id: string;
  readonly displayName: string;
}

export interface AuditEntry {
  action: AuditAction;
  tenant?: { id: string; slug: string };
  detail?: Record<string, string>;
}

export interface AuditRecord {
  id: string;
  at: Date;
  actor: string;
  actorName: string;
  action: AuditAction;
  tenantId: string | null;
  tenantSlug: string | null;
  detail: Record<string, string>;
  ip: string;
  requestId: string;
}

/** Who is acting, from where, in which request: what every audit row carries. */
export interface AuditOrigin {
  actor: Actor;
  ip: string;
  requestId: string;
}

export function auditOrigin(request: FastifyRequest, actor: Actor): AuditOrigin {
  return { actor, ip: request.ip, requestId: request.id };
}

export async function recordAudit(db: Kysely<Database>, origin: AuditOrigin, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('operator_audit')
    .values({
      id: newId(),
      actor: origin.actor.id,
      actor_name: origin.actor.displayName,
      action: entry.action,
      tenant_id: entry.tenant?.id ?? null,
      tenant_slug: entry.tenant?.slug ?? null,
      detail: entry.detail ?? {},
      ip: origin.ip,
      request_id: origin.requestId,
    })
    .execute();
}

/** Newest first. */
export async function listAudit(db: Kysely<Database>, options: { limit?: number; tenantId?: string } = {}): Promise<AuditRecord[]> {
  let query = db.selectFrom('operator_audit').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(options.limit ?? 200);
  if (options.tenantId) query = query.where('tenant_id', '=', options.tenantId);
  const rows = await query.execute();
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    actor: row.actor,
    actorName: row.actor_name,
    action: row.action,
    tenantId: row.tenant_id,
    tenantSlug: row.tenant_slug,
    detail: row.detail,
    ip: row.ip,
    requestId: row.request_id,
  }));
}
