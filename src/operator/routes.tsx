// The operator console, on the operator host only (a host constraint, and config.operator for the
// tenancy plugin): every tenant's figures, suspend and resume, failed jobs and their retry, usage
// statistics side by side and per tenant, the audit journal. Every route needs an operator session (requireOperator); every POST carries the
// session's CSRF token (checked for every route by src/identity/csrf.ts). What reads or changes
// several tenants goes through src/operator/regional.ts, and nothing else does.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { requireOperator } from '../identity/authorize.js';
import { SINGLE_LOGOUT_PATH, type Identity } from '../identity/plugin.js';
import type { OperatorDeclaration } from '../identity/operator.js';
import { LANES, type Lane } from '../jobs/queues.js';
import { NotFoundError } from '../platform/errors.js';
import { periodOf } from '../statistics/plugin.js';
import type { Tenant, TenantRegistry } from '../tenancy/registry.js';
import { sendPage } from '../web/render.js';
import { auditOrigin, type AuditOrigin } from './audit.js';
import { operatorPageContext } from './context.js';
import { AuditPage, FailedJobsPage, OperatorHomePage, RegionalStatisticsPage, SuspendConfirmPage, TenantStatisticsPage, failedJobsHref } from './pages.js';
import type { Regional } from './regional.js';

/** Matches the operator host with or without a port, as the Host header carries it. */
export function operatorHostConstraint(host: string): RegExp {
  return new RegExp(`^${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.?(:\\d{1,5})?$`, 'i');
}

export interface OperatorRoutesOptions {
  operator: OperatorDeclaration;
  identity: Identity;
  registry: TenantRegistry;
  regional: Regional;
  /** The console's SAML routes are served (src/operator/saml.tsx): logout goes on to single logout. */
  singleLogout: boolean;
}

const Slug = Type.String({ pattern: '^[a-z][a-z0-9-]{1,39}$' });
const TenantParams = Type.Object({ slug: Slug });
const JobParams = Type.Object({
  slug: Slug,
  lane: Type.Union(LANES.map((lane) => Type.Literal(lane))),
  id: Type.String({ minLength: 1, maxLength: 200 }),
});
const FormBody = Type.Object({ _csrf: Type.Optional(Type.String({ maxLength: 100 })) });
const HomeQuery = Type.Object({
  fait: Type.Optional(Type.Union([Type.Literal('suspendu'), Type.Literal('repris'), Type.Literal('inchange')])),
  etablissement: Type.Optional(Slug),
});
const PeriodQuery = Type.Object({ du: Type.Optional(Type.String({ maxLength: 10 })), au: Type.Optional(Type.String({ maxLength: 10 })) });
const JobsQuery = Type.Object({ relance: Type.Optional(Type.String({ maxLength: 200 })) });

export const operatorRoutes: FastifyPluginAsync<OperatorRoutesOptions> = async (app, { operator, identity, registry, regional, singleLogout }) => {
  const route = { config: { operator: true }, constraints: { host: operatorHostConstraint(operator.host) } };
  const guarded = { ...route, preHandler: requireOperator };
  const ctxOf = (request: FastifyRequest) => operatorPageContext(request, operator);
  const originOf = (request: FastifyRequest): AuditOrigin =>
    auditOrigin(request, { id: request.session!.personId, displayName: request.session!.displayName });
  const tenantOf = (slug: string): Tenant => {
    const tenant = registry.bySlug(slug);
    if (!tenant) throw new NotFoundError();
    return tenant;
  };

  app.get<{ Querystring: Static<typeof HomeQuery> }>('/', { ...guarded, schema: { querystring: HomeQuery } }, async (request, reply) => {
    const ctx = ctxOf(request);
    const tenants = await regional.overview(originOf(request), request.log);
    const { fait, etablissement } = request.query;
    const done = etablissement ? registry.bySlug(etablissement) : undefined;
    const notice =
      fait && done
        ? ctx.t(fait === 'suspendu' ? 'operator.done.suspended' : fait === 'repris' ? 'operator.done.resumed' : 'operator.done.unchanged', { name: done.displayName })
        : undefined;
    return sendPage(reply, <OperatorHomePage ctx={ctx} tenants={tenants} notice={notice} />);
  });

  // Suspension asks first: this page, then its form's POST.
  app.get<{ Params: Static<typeof TenantParams> }>('/etablissements/:slug/suspendre', { ...guarded, schema: { params: TenantParams } }, async (request, reply) => {
    return sendPage(reply, <SuspendConfirmPage ctx={ctxOf(request)} tenant={tenantOf(request.params.slug)} />);
  });

  for (const [path, status, done] of [
    ['suspendre', 'suspended', 'suspendu'],
    ['reprendre', 'active', 'repris'],
  ] as const) {
    app.post<{ Params: Static<typeof TenantParams> }>(
      `/etablissements/:slug/${path}`,
      { ...guarded, schema: { params: TenantParams, body: FormBody } },
      async (request, reply) => {
        const tenant = tenantOf(request.params.slug);
        const changed = await regional.setStatus(originOf(request), tenant, status);
        request.log.warn({ operator: request.session!.personId, tenant: tenant.slug, status, changed }, 'tenant status set by the operator');
        return reply.redirect(`/?fait=${changed ? done : 'inchange'}&etablissement=${tenant.slug}`, 303);
      },
    );
  }

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof JobsQuery> }>(
    '/etablissements/:slug/travaux',
    { ...guarded, schema: { params: TenantParams, querystring: JobsQuery } },
    async (request, reply) => {
      const ctx = ctxOf(request);
      const tenant = tenantOf(request.params.slug);
      const jobs = await regional.failedJobs(tenant).catch((error: unknown) => {
        request.log.error({ err: error }, 'failed jobs unavailable');
        return undefined;
      });
      const retried = request.query.relance;
      const notice = retried ? ctx.t('operator.jobs.retried', { job: retried }) : undefined;
      return sendPage(reply, <FailedJobsPage ctx={ctx} tenant={tenant} jobs={jobs} notice={notice} />);
    },
  );

  app.post<{ Params: Static<typeof JobParams> }>(
    '/etablissements/:slug/travaux/:lane/:id/relancer',
    { ...guarded, schema: { params: JobParams, body: FormBody } },
    async (request, reply) => {
      const tenant = tenantOf(request.params.slug);
      const { lane, id } = request.params;
      await regional.retryJob(originOf(request), tenant, lane as Lane, id);
      return reply.redirect(`${failedJobsHref(tenant)}?relance=${encodeURIComponent(id)}`, 303);
    },
  );

  // Usage statistics (src/statistics/report.ts, k-anonymous aggregates): every tenant side by
  // side, and one tenant's in detail. Default period: the last 30 days up to yesterday.
  app.get<{ Querystring: Static<typeof PeriodQuery> }>('/statistiques', { ...guarded, schema: { querystring: PeriodQuery } }, async (request, reply) => {
    const { period, invalid } = periodOf(request.query);
    const usage = await regional.statistics(originOf(request), request.log, period);
    return sendPage(reply, <RegionalStatisticsPage ctx={ctxOf(request)} usage={usage} period={period} invalid={invalid} />, invalid ? 400 : 200);
  });

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof PeriodQuery> }>(
    '/etablissements/:slug/statistiques',
    { ...guarded, schema: { params: TenantParams, querystring: PeriodQuery } },
    async (request, reply) => {
      const tenant = tenantOf(request.params.slug);
      const { period, invalid } = periodOf(request.query);
      const report = await regional.tenantStatistics(originOf(request), request.log, tenant, period);
      return sendPage(reply, <TenantStatisticsPage ctx={ctxOf(request)} tenant={tenant} report={report} invalid={invalid} />, invalid ? 400 : 200);
    },
  );

  app.get('/journal', guarded, async (request, reply) => {
    return sendPage(reply, <AuditPage ctx={ctxOf(request)} records={await regional.audit({ limit: 200 })} />);
  });

  app.post('/deconnexion', route, async (request, reply) => {
    // With the console's SAML routes (src/operator/saml.tsx): single logout, as on tenant hosts.
    if (request.session && singleLogout) return reply.redirect(SINGLE_LOGOUT_PATH, 307);
    await identity.endCurrentSession(request, reply);
    return reply.redirect('/', 303);
  });
};
