// The one cross-tenant path (DESIGN.md: "Cross-tenant work goes through one explicit, audited
// path"). Nothing else in Portique reads more than one tenant's data; the operator console reads
// every tenant's figures here, and acts on a tenant (suspend, resume, retry a failed job) here.
//
// How it reads: a loop of withTenant transactions, one per tenant, each seeing that tenant only
// under the same row-level security policy as a request of that tenant, and returning
// aggregates only (counts and byte sums; no row leaves this module). Why not a SECURITY DEFINER
// function or an owner's view:
//   - no new privilege. The application role can already open any tenant through withTenant; a
//     definer function would be a second door around RLS (the owner is subject to FORCEd RLS, so
//     the function would set app.tenant_id itself, or the owner would need BYPASSRLS), with its
//     own search_path hardening to get right, and every later figure would mean a new migration.
//   - a query mistake here cannot mix tenants: each statement sees one tenant, fail-closed.
//   - the cost is one short transaction per tenant: tens of tenants in a region, an operator
//     page now and then. Redis figures come from each tenant's own queues (src/jobs/client.ts).
// Audited: every action writes its operator_audit row (src/operator/audit.ts) in the same
// transaction as the change it records (for a job retry, the row commits only if the retry
// happened); every read of several tenants logs one line naming the operator.
//
// Usage statistics come from src/statistics/report.ts, whose figures are aggregates with
// k-anonymity applied (a figure about too few people is withheld): this module is their only
// caller for more than one tenant, or for a tenant by someone who is not its admin.
//
// It reads the people and document_usage tables directly rather than through the directory's and
// documents' services: those services act for one person in one tenant, and these are figures
// about a whole tenant that no tenant page shows. This module is the documented exception.
import { sql } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { JobCounts, FailedJob, Jobs } from '../jobs/client.js';
import type { Lane } from '../jobs/queues.js';
import type { DbHandle } from '../platform/db.js';
import { NotFoundError } from '../platform/errors.js';
import { regionalStatistics, usageReport, type Period, type TenantUsage, type UsageReport } from '../statistics/report.js';
import { parseSize } from '../tenancy/declaration.js';
import type { Tenant, TenantRegistry } from '../tenancy/registry.js';
import { setTenantStatus } from '../tenancy/status.js';
import { listAudit, recordAudit, type AuditOrigin, type AuditRecord } from './audit.js';
import '../documents/tables.js';

/** Active people: logged in within this many days (until usage statistics give monthly actives). */
export const ACTIVE_DAYS = 30;

export interface TenantFigures {
  tenant: Tenant;
  /** People whose account is active (not deactivated). */
  people: number;
  /** Of them, those who logged in within ACTIVE_DAYS. */
  activePeople: number;
  storageUsed: number;
  storageQuota: number;
  /** undefined: Redis did not answer; the page says so rather than failing. */
  jobs: JobCounts | undefined;
}

export interface Regional {
  /** Every tenant's figures, by slug. */
  overview(origin: AuditOrigin, log: FastifyBaseLogger): Promise<TenantFigures[]>;
  failedJobs(tenant: Tenant): Promise<FailedJob[]>;
  /** false: the tenant already had this status (nothing written, nothing audited). */
  setStatus(origin: AuditOrigin, tenant: Tenant, status: Tenant['status']): Promise<boolean>;
  /** Throws NotFoundError when the job is not (or no longer) failed. */
  retryJob(origin: AuditOrigin, tenant: Tenant, lane: Lane, jobId: string): Promise<void>;
  audit(options?: { limit?: number }): Promise<AuditRecord[]>;
  /** Every tenant's usage report over the period, side by side. */
  statistics(origin: AuditOrigin, log: FastifyBaseLogger, period: Period): Promise<TenantUsage[]>;
  tenantStatistics(origin: AuditOrigin, log: FastifyBaseLogger, tenant: Tenant, period: Period): Promise<UsageReport>;
}

export interface RegionalDeps {
  database: DbHandle;
  registry: TenantRegistry;
  jobs: Jobs;
}

export function createRegional({ database, registry, jobs }: RegionalDeps): Regional {
  async function figures(tenant: Tenant): Promise<TenantFigures> {
    const counted = database.withTenant(tenant.id, async (trx) => {
      const people = await trx
        .selectFrom('people')
        .select([
          sql<number>`count(*)::int`.as('people'),
          sql<number>`(count(*) filter (where last_login_at > now() - make_interval(days => ${ACTIVE_DAYS})))::int`.as('active'),
        ])
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow();
      // The tenant-wide row of document_usage is keyed by the tenant's own id (0006).
      const usage = await trx.selectFrom('document_usage').select('used').where('space_id', '=', tenant.id).executeTakeFirst();
      return { people: people.people, activePeople: people.active, storageUsed: Number(usage?.used ?? 0) };
    });
    const queued = jobs.counts(tenant.id).catch(() => undefined);
    const [counts, jobCounts] = await Promise.all([counted, queued]);
    return { tenant, ...counts, storageQuota: parseSize(tenant.declaration.quotas.storageTotal), jobs: jobCounts };
  }

  return {
    async overview(origin, log) {
      const tenants = registry.all().sort((a, b) => a.slug.localeCompare(b.slug));
      log.info({ operator: origin.actor.id, tenants: tenants.length }, 'regional figures read');
      const result: TenantFigures[] = [];
      // One tenant after the other: a handful of connections at most, whatever the region's size.
      for (const tenant of tenants) result.push(await figures(tenant));
      return result;
    },

    failedJobs: (tenant) => jobs.listFailed(tenant.id, { limit: 100 }),

    async setStatus(origin, tenant, status) {
      const changed = await database.db.transaction().execute(async (trx) => {
        if (!(await setTenantStatus(trx, tenant.id, status))) return false;
        await recordAudit(trx, origin, { action: status === 'suspended' ? 'suspend' : 'resume', tenant: { id: tenant.id, slug: tenant.slug } });
        return true;
      });
      // This replica at once; the others when the NOTIFY reaches them.
      if (changed) await registry.reload();
      return changed;
    },

    async retryJob(origin, tenant, lane, jobId) {
      await database.db.transaction().execute(async (trx) => {
        await recordAudit(trx, origin, { action: 'retry-job', tenant: { id: tenant.id, slug: tenant.slug }, detail: { lane, job: jobId } });
        if (!(await jobs.retryFailed(tenant.id, lane, jobId))) throw new NotFoundError();
      });
    },

    audit: (options) => listAudit(database.db, options),

    async statistics(origin, log, period) {
      log.info({ operator: origin.actor.id, period }, 'regional statistics read');
      return regionalStatistics(database, registry, period);
    },

    async tenantStatistics(origin, log, tenant, period) {
      log.info({ operator: origin.actor.id, tenant: tenant.slug, period }, "a tenant's statistics read by the operator");
      return usageReport(database, tenant, period);
    },
  };
}
