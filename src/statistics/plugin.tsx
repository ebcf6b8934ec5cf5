// Usage statistics over HTTP: every page a tenant serves is recorded as a page view of its
// service (after the response, off the request's path), `request.server.usage` for services that
// record more (upload, download, search...), and the admin's statistics page and CSV export.
import fp from 'fastify-plugin';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DbHandle } from '../platform/db.js';
import { requireRole } from '../identity/authorize.js';
import { pageContext } from '../web/context.js';
import { sendPage } from '../web/render.js';
import { serviceOfRoute, type UsageEventName, type UsageService } from './events.js';
import type { UsageRecorder } from './recorder.js';
import { toCsv } from './csv.js';
import { StatisticsPage } from './pages.js';
import { usageReport, visibleDailyRows, type Period } from './report.js';
import { addDays, dayIn, statisticsSettings } from './rollup.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Usage events (src/statistics/): record() never waits; null when recording is off. */
    usage: UsageRecorder | null;
  }
}

/** What a service calls to record an event of the request's person (or anonymous visitor). */
export function recordUsage(request: FastifyRequest, event: UsageEventName, service: UsageService): void {
  if (!request.tenant) return;
  const session = request.session;
  const personId = session?.realm.kind === 'tenant' ? session.personId : null;
  request.server.usage?.record({ tenantId: request.tenant.id, personId, event, service });
}

const PeriodQuery = Type.Object({
  du: Type.Optional(Type.String({ maxLength: 10 })),
  au: Type.Optional(Type.String({ maxLength: 10 })),
});
type PeriodQuery = { du?: string; au?: string };

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_DAYS = 400;
const validDay = (s: string | undefined): s is string => !!s && DAY.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);

/** The asked period, or the last 30 days up to yesterday (and whether the ask was refused). */
export function periodOf(query: PeriodQuery, now = new Date()): { period: Period; invalid: boolean } {
  const yesterday = addDays(dayIn(now), -1);
  const fallback = { period: { from: addDays(yesterday, -29), to: yesterday }, invalid: false };
  if (query.du === undefined && query.au === undefined) return fallback;
  const { du, au } = query;
  if (!validDay(du) || !validDay(au) || du > au || addDays(du, MAX_DAYS) < au) return { ...fallback, invalid: true };
  return { period: { from: du, to: au }, invalid: false };
}

export const statisticsPlugin = fp<{ database: DbHandle; usage: UsageRecorder | null }>(
  async (app: FastifyInstance, { database, usage }) => {
    app.decorate('usage', usage);
    if (usage) {
      // A page view hook on each page route, its service worked out once when the route is added
      // (not per request), none on static files; a callback, not an async function: no promise
      // per request.
      app.addHook('onRoute', (route) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        if (!methods.includes('GET') || route.url.startsWith('/static') || route.url.startsWith('/branding')) return;
        const service = serviceOfRoute(route.url);
        const pageView = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
          if (request.tenant && request.method === 'GET' && reply.statusCode < 400) {
            const type = reply.getHeader('content-type');
            if (typeof type === 'string' && type.startsWith('text/html')) recordUsage(request, 'page.view', service);
          }
          done();
        };
        route.onResponse = route.onResponse ? [...(Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse]), pageView] : [pageView];
      });
      app.addHook('onClose', () => usage.close());
    }

    const guard = requireRole('admin');
    app.get<{ Querystring: PeriodQuery }>('/admin/statistiques', { schema: { querystring: PeriodQuery }, preHandler: guard }, async (request, reply) => {
      const { period, invalid } = periodOf(request.query);
      const report = await usageReport(database, request.tenant, period);
      return sendPage(reply, <StatisticsPage ctx={pageContext(request)} report={report} invalid={invalid} />, invalid ? 400 : 200);
    });

    app.get<{ Querystring: PeriodQuery }>('/admin/statistiques.csv', { schema: { querystring: PeriodQuery }, preHandler: guard }, async (request, reply) => {
      const { period } = periodOf(request.query);
      const k = statisticsSettings(request.tenant.declaration).minGroupSize;
      const rows = await visibleDailyRows(database, request.tenant.id, period, k);
      const csv = toCsv(
        ['day', 'service', 'affiliation', 'event', 'events', 'people'],
        rows.map((r) => [r.day, r.service, r.affiliation, r.event, r.events, r.people]),
      );
      return reply
        .header('content-disposition', `attachment; filename="statistiques-${request.tenant.slug}-${period.from}-${period.to}.csv"`)
        .header('x-content-type-options', 'nosniff')
        .type('text/csv; charset=utf-8')
        .send(csv);
    });
  },
  { name: 'statistics' },
);
