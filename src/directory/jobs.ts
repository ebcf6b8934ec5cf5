// The directory's jobs: a CSV import run (dry or real), recorded in directory_imports.
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { defineJob, type JobDeps } from '../jobs/deps.js';
import { createImports, DEFAULT_DEACTIVATION_THRESHOLD } from './imports.js';
import { syncLdap } from './ldap.js';
import { notify } from '../notifications/service.js';

export const directoryImportCsvJob = defineJob({
  name: 'directory.import-csv',
  lane: 'default',
  payload: { importId: Type.String({ pattern: '^[0-9a-f-]{36}$' }) },
  attempts: 3,
  backoffMs: 5000,
  async handle(payload, context, deps) {
    const tenant = deps.registry.byId(payload.tenantId);
    const threshold = tenant?.declaration.directory?.deactivationThreshold ?? DEFAULT_DEACTIVATION_THRESHOLD;
    const maxPeople = tenant?.declaration.quotas.people ?? Number.MAX_SAFE_INTEGER;
    const run = () =>
      deps.database.withTenant(payload.tenantId, (trx) =>
        trx.selectFrom('directory_imports').select(['status', 'requested_by', 'dry_run', 'counts']).where('tenant_id', '=', payload.tenantId).where('id', '=', payload.importId).executeTakeFirst(),
      );
    const before = await run();
    const imports = createImports(deps.database);
    const status = await imports.runCsv(payload.tenantId, payload.importId, threshold, context.log, maxPeople);
    await endSessionsOfDeactivated(deps, payload.tenantId, await imports.deactivatedBy(payload.tenantId, payload.importId), context.log);
    // "Import finished", to whoever started it: only when this run ended it (not on a duplicate job).
    const after = await run();
    if (tenant && after?.requested_by && (before?.status === 'queued' || before?.status === 'running') && status !== 'running') {
      await notify(deps, {
        tenantId: tenant.id,
        personId: after.requested_by,
        category: 'import',
        title: importFinishedTitle(tenant.declaration.defaultLocale, status, after.dry_run, after.counts as Record<string, number>),
        link: `/admin/annuaire/imports/${payload.importId}`,
      });
    }
    return { status };
  },
});

/**
 * A person an import deactivates can no longer log in; the sessions they have end too, after the
 * run committed (a rolled-back run deactivated nobody). Ending an ended session does nothing, so
 * a repeated job is harmless. Without the session store the job fails rather than leave them in.
 */
async function endSessionsOfDeactivated(deps: JobDeps, tenantId: string, people: string[], log: Logger): Promise<void> {
  if (people.length === 0) return;
  if (!deps.sessions) throw new Error('directory import: people were deactivated but this worker has no session store (JobDeps.sessions) to end their sessions');
  const sessions = deps.sessions;
  let ended = 0;
  // A chunk of people at a time: ioredis pipelines their reads and deletes on its one connection,
  // where one person after another waited a round trip each (a yearly CSV deactivates thousands).
  for (let i = 0; i < people.length; i += 50) {
    const counts = await Promise.all(people.slice(i, i + 50).map((personId) => sessions.endOthers({ kind: 'tenant', tenantId }, personId, '')));
    ended += counts.reduce((n, c) => n + c, 0);
  }
  log.info({ tenant: tenantId, people: people.length, sessions: ended }, 'sessions of deactivated people ended');
}

async function endSessionsAfterSync<T extends { runId: string } | undefined>(deps: JobDeps, tenantId: string, outcome: T, log: Logger): Promise<T> {
  if (outcome) await endSessionsOfDeactivated(deps, tenantId, await createImports(deps.database).deactivatedBy(tenantId, outcome.runId), log);
  return outcome;
}

function importFinishedTitle(locale: 'fr' | 'en', status: string, dryRun: boolean, counts: Record<string, number>): string {
  const n = (k: string) => counts[k] ?? 0;
  if (locale === 'en') {
    if (status === 'failed') return 'Directory import failed: see its report';
    if (status === 'needs_force') return 'Directory import stopped: too many deactivations, a forced run is needed';
    return `Directory import ${dryRun ? '(dry run) ' : ''}finished: ${n('create')} created, ${n('update')} updated, ${n('deactivate')} deactivated`;
  }
  if (status === 'failed') return "L'import de l'annuaire a échoué : voir son rapport";
  if (status === 'needs_force') return "Import de l'annuaire arrêté : trop de désactivations, un import forcé est nécessaire";
  return `Import de l'annuaire ${dryRun ? '(simulation) ' : ''}terminé : ${n('create')} créés, ${n('update')} mis à jour, ${n('deactivate')} désactivés`;
}

/** Every 5 minutes; a tenant is synced when its incrementalMinutes (default 15) have passed. */
export const directoryLdapSyncJob = defineJob({
  name: 'directory.ldap-sync',
  lane: 'default',
  payload: { force: Type.Optional(Type.Boolean()) },
  attempts: 3,
  backoffMs: 30_000,
  async handle(payload, context, deps) {
    const tenant = deps.registry.byId(payload.tenantId);
    const ldap = tenant?.declaration.directory?.ldap;
    if (!tenant || !ldap) return { skipped: 'no ldap source' };
    const state = await deps.database.withTenant(tenant.id, (trx) => trx.selectFrom('directory_sync_state').select('updated_at').where('tenant_id', '=', tenant.id).where('source', '=', 'ldap').executeTakeFirst());
    const due = (ldap.incrementalMinutes ?? 15) * 60_000;
    if (!payload.force && state && Date.now() - new Date(state.updated_at).getTime() < due - 30_000) return { skipped: 'not due' };
    return endSessionsAfterSync(deps, tenant.id, await syncLdap(deps.database, tenant, 'incremental', { log: context.log }), context.log);
  },
});

/** Nightly: everyone, and people gone from the LDAP deactivated (threshold applies). */
export const directoryLdapReconcileJob = defineJob({
  name: 'directory.ldap-reconcile',
  lane: 'default',
  payload: { forced: Type.Optional(Type.Boolean()) },
  attempts: 3,
  backoffMs: 60_000,
  async handle(payload, context, deps) {
    const tenant = deps.registry.byId(payload.tenantId);
    if (!tenant?.declaration.directory?.ldap) return { skipped: 'no ldap source' };
    const outcome = await syncLdap(deps.database, tenant, 'full', { log: context.log, ...(payload.forced ? { forced: true } : {}) });
    return endSessionsAfterSync(deps, tenant.id, outcome, context.log);
  },
});

/**
 * Nightly: deactivated people are removed once the tenant's retention (default 365 days) has
 * passed. One transaction per person: one that other data still points to is kept, and said so.
 */
export const directoryPurgeDeactivatedJob = defineJob({
  name: 'directory.purge-deactivated',
  lane: 'default',
  payload: {},
  attempts: 2,
  async handle(payload, context, deps) {
    const tenant = deps.registry.byId(payload.tenantId);
    if (!tenant) return { skipped: 'unknown tenant' };
    const days = tenant.declaration.directory?.retentionDays ?? 365;
    const cutoff = new Date(Date.now() - days * 86_400_000);
    const due = await deps.database.withTenant(tenant.id, (trx) =>
      trx.selectFrom('people').select('id').where('tenant_id', '=', tenant.id).where('status', '=', 'deactivated').where('deactivated_at', '<', cutoff).limit(1000).execute(),
    );
    let removed = 0;
    let kept = 0;
    for (const { id } of due) {
      try {
        await deps.database.withTenant(tenant.id, (trx) => trx.deleteFrom('people').where('tenant_id', '=', tenant.id).where('id', '=', id).where('status', '=', 'deactivated').execute());
        removed++;
      } catch (error) {
        kept++;
        context.log.warn({ person: id, err: (error as Error).message }, 'deactivated person still referenced: kept');
      }
    }
    return { removed, kept };
  },
});
