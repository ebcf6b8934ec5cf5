// `portique tenants apply [--dry-run]`: makes the registry match tenants/. Everything is
// validated first; on any problem nothing is written. The write is one transaction, so a
// failure half-way leaves the registry as it was. Tenants without a file are kept: removing a
// university is a deliberate act of its own, never a side effect of a missing file.
import { sql } from 'kysely';
import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import { BucketError, ensureBucketExists, type Storage } from '../platform/storage.js';
import '../identity/saml/tables.js';
import { DeclarationError, type DeclarationProblem } from './declaration.js';
import { loadTenantDeclarations, type LoadedTenant } from './load.js';

export type Change =
  | { kind: 'create'; slug: string; hosts: string[] }
  | { kind: 'update'; slug: string; what: string[] }
  | { kind: 'unchanged'; slug: string }
  | { kind: 'undeclared'; slug: string };

export interface ApplyResult {
  changes: Change[];
  /** Applied anyway, but worth the operator's eyes (an IdP file not there yet). */
  warnings: DeclarationProblem[];
  dryRun: boolean;
}

export interface ApplyOptions {
  dryRun?: boolean;
  /**
   * The object storage: a tenant's own bucket (`storage.bucket`) is checked, and created where the
   * storage allows it, before anything is written. Without it (some tests) buckets are not checked.
   */
  storage?: Storage;
}

export async function applyTenants(ownerDb: Db, dir: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  const { tenants, problems, warnings } = await loadTenantDeclarations(dir);
  if (problems.length > 0) throw new DeclarationError(problems);
  const dryRun = options.dryRun ?? false;
  if (options.storage && !dryRun) await ensureBuckets(options.storage, tenants);

  return ownerDb.transaction().execute(async (trx) => {
    // Serialises concurrent applies; the transaction-level lock ends with the transaction.
    await sql`select pg_advisory_xact_lock(hashtext('portique.tenants.apply'))`.execute(trx);
    const existing = await trx.selectFrom('tenants').select(['id', 'slug', 'digest', 'declaration']).execute();
    const hosts = await trx.selectFrom('tenant_hosts').select(['host', 'tenant_id']).execute();
    const bySlug = new Map(existing.map((t) => [t.slug, t]));
    const changes: Change[] = [];

    for (const tenant of tenants) {
      const { declaration } = tenant;
      const current = bySlug.get(declaration.slug);
      // A host may move from one declared tenant to another (files are checked for duplicates),
      // but never away from a tenant that has no file here.
      for (const host of declaration.hosts) {
        const holder = existing.find((t) => t.id === hosts.find((h) => h.host === host)?.tenant_id);
        if (holder && holder.slug !== declaration.slug && !tenants.some((t) => t.declaration.slug === holder.slug)) {
          throw new DeclarationError([{ file: tenant.file, field: 'hosts', reason: `${host} belongs to tenant ${holder.slug}` }]);
        }
      }
      if (current) await refuseBucketMove(trx, current, tenant, options.storage?.bucket);
      if (!current) {
        changes.push({ kind: 'create', slug: declaration.slug, hosts: declaration.hosts });
        if (!dryRun) await writeTenant(trx, newId(), tenant, true);
      } else if (current.digest !== tenant.digest) {
        changes.push({ kind: 'update', slug: declaration.slug, what: describeUpdate(current.declaration as Record<string, unknown>, tenant) });
        if (!dryRun) await writeTenant(trx, current.id, tenant, false);
      } else {
        changes.push({ kind: 'unchanged', slug: declaration.slug });
      }
    }
    for (const t of existing) {
      if (!tenants.some((d) => d.declaration.slug === t.slug)) changes.push({ kind: 'undeclared', slug: t.slug });
    }
    return { changes, warnings, dryRun };
  });
}

/** Each declared bucket exists, or is created; else the apply stops before writing, naming the file. */
async function ensureBuckets(storage: Storage, tenants: LoadedTenant[]): Promise<void> {
  const failures: DeclarationProblem[] = [];
  const done = new Map<string, string | undefined>();
  for (const tenant of tenants) {
    const bucket = tenant.declaration.storage?.bucket;
    if (!bucket) continue;
    if (!done.has(bucket)) {
      done.set(bucket, await ensureBucketExists(storage, bucket).then(() => undefined, (e: unknown) => (e instanceof BucketError ? e.message : `bucket ${bucket}: ${String(e)}`)));
    }
    const reason = done.get(bucket);
    if (reason) failures.push({ file: tenant.file, field: 'storage.bucket', reason });
  }
  if (failures.length > 0) throw new DeclarationError(failures);
}

/**
 * Runs `fn` in the apply's transaction as tenant `tenantId`: tenant tables are under forced
 * row-level security, the owner's role included. Back to no tenant afterwards.
 */
async function asTenant<T>(trx: Db, tenantId: string, fn: () => Promise<T>): Promise<T> {
  await sql`select set_config('app.tenant_id', ${tenantId}, true)`.execute(trx);
  const result = await fn();
  await sql`select set_config('app.tenant_id', '', true)`.execute(trx);
  return result;
}

/**
 * A tenant's documents stay where they were stored: objects are not moved between buckets (yet),
 * so changing the bucket of a tenant that has documents would leave every one of them unreadable,
 * and reconciliation would then drop them as lost. Refused while it has any stored version.
 */
async function refuseBucketMove(trx: Db, current: { id: string; declaration: unknown }, tenant: LoadedTenant, regional: string | undefined): Promise<void> {
  const was = (current.declaration as { storage?: { bucket?: string } }).storage?.bucket ?? regional ?? '(regional)';
  const next = tenant.declaration.storage?.bucket ?? regional ?? '(regional)';
  if (was === next) return;
  const row = await asTenant(trx, current.id, () =>
    trx.selectFrom('document_versions').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', current.id).executeTakeFirstOrThrow(),
  );
  const n = Number(row.n);
  if (n > 0) {
    throw new DeclarationError([
      { file: tenant.file, field: 'storage.bucket', reason: `cannot change from ${was} to ${next}: the tenant has ${n} stored document version(s) there, and objects are not moved between buckets` },
    ]);
  }
}

function describeUpdate(previous: Record<string, unknown>, tenant: LoadedTenant): string[] {
  const next = tenant.declaration as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  // jsonb does not keep key order: compare structurally.
  const what = [...keys].filter((k) => !isDeepStrictEqual(previous[k], next[k])).sort();
  return what.length ? what : ['assets'];
}

async function writeTenant(trx: Db, id: string, tenant: LoadedTenant, isNew: boolean): Promise<void> {
  const { declaration } = tenant;
  const row = {
    slug: declaration.slug,
    display_name: declaration.displayName,
    declaration,
    digest: tenant.digest,
  };
  if (isNew) {
    await trx.insertInto('tenants').values({ id, ...row, status: declaration.status ?? 'active' }).execute();
  } else {
    await trx
      .updateTable('tenants')
      .set({ ...row, updated_at: sql<Date>`now()` as never, ...(declaration.status ? { status: declaration.status } : {}) })
      .where('id', '=', id)
      .execute();
  }
  await trx.deleteFrom('tenant_hosts').where('tenant_id', '=', id).execute();
  await trx.deleteFrom('tenant_hosts').where('host', 'in', declaration.hosts).execute();
  await trx.insertInto('tenant_hosts').values(declaration.hosts.map((host) => ({ host, tenant_id: id }))).execute();

  // Assets, IdPs and signers are tenant data under row-level security: written as that tenant.
  await asTenant(trx, id, async () => {
    await trx.deleteFrom('tenant_assets').where('tenant_id', '=', id).execute();
    if (tenant.assets.length > 0) {
      await trx
        .insertInto('tenant_assets')
        .values(tenant.assets.map((a) => ({ tenant_id: id, name: a.name, content_type: a.contentType, sha256: a.sha256, body: a.body })))
        .execute();
    }

    // The IdPs of metadata files and explicit fields replace what was stored; a metadataUrl's
    // entity, fetched by the refresh job, stays while that URL is still what the tenant declares.
    const urls = (declaration.identity?.providers ?? []).filter((p) => p.metadataUrl).map((p) => `${p.entityId}\n${p.metadataUrl}`);
    const stored = await trx.selectFrom('saml_idp_metadata').select(['entity_id', 'source_url']).where('tenant_id', '=', id).execute();
    const stale = stored.filter((r) => !urls.includes(`${r.entity_id}\n${r.source_url}`)).map((r) => r.entity_id);
    if (stale.length > 0) await trx.deleteFrom('saml_idp_metadata').where('tenant_id', '=', id).where('entity_id', 'in', stale).execute();
    if (tenant.idps.length > 0) {
      await trx
        .insertInto('saml_idp_metadata')
        .values(tenant.idps.map((i) => ({ tenant_id: id, entity_id: i.entityId, source_url: i.source, xml: i.xml, valid_until: i.validUntil, fetched_at: new Date() })))
        .execute();
    }
    await trx.deleteFrom('saml_metadata_signers').where('tenant_id', '=', id).execute();
    if (tenant.signers.length > 0) {
      await trx
        .insertInto('saml_metadata_signers')
        .values(tenant.signers.map((s) => ({ tenant_id: id, entity_id: s.entityId, metadata_url: s.metadataUrl, certificates: s.certificates })))
        .execute();
    }
  });
}
