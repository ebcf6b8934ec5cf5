// The figures of a period, from the aggregates only, with k-anonymity applied: a figure about
// fewer than minGroupSize people (but at least one) is withheld, never shown nor exported. Rows
// about anonymous visitors only (people = 0) concern nobody identifiable and are shown.
// The same function serves a tenant's admin page and, tenant by tenant, the operator's regional
// dashboard (regionalStatistics): every tenant has one event schema, so the figures compare.
import type { DbHandle } from '../platform/db.js';
import type { Tenant, TenantRegistry } from '../tenancy/registry.js';
import { nextMonth, monthOf, statisticsSettings } from './rollup.js';
import { sql } from 'kysely';
import './tables.js';

export interface Period {
  /** First day, YYYY-MM-DD, included. */
  from: string;
  /** Last day, YYYY-MM-DD, included. */
  to: string;
}

/** null: withheld (fewer than minGroupSize people). */
export type Figure = number | null;

export interface DayFigures {
  day: string;
  people: Figure;
  events: Figure;
}

export interface MonthFigures {
  month: string;
  people: Figure;
  events: Figure;
}

export interface Breakdown {
  key: string;
  /** Events over the period, summed over the days shown. */
  events: number;
  /** Daily active people, averaged over the days shown (null: no day could be shown). */
  averageDailyPeople: Figure;
  /** Days withheld for this key (too few people). */
  withheldDays: number;
}

export interface UsageReport {
  period: Period;
  minGroupSize: number;
  daily: DayFigures[];
  monthly: MonthFigures[];
  byService: Breakdown[];
  byAffiliation: Breakdown[];
  byEvent: Breakdown[];
}

export interface AggregateRow {
  day: string;
  service: string;
  affiliation: string;
  event: string;
  events: number;
  people: number;
}

export const shown = (people: number, k: number) => people === 0 || people >= k;

/** Every row of usage_daily in the period that k-anonymity lets out (the CSV export). */
export async function visibleDailyRows(database: DbHandle, tenantId: string, period: Period, k: number): Promise<AggregateRow[]> {
  const rows = await database.withTenant(tenantId, (trx) =>
    trx
      .selectFrom('usage_daily')
      .select([sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'service', 'affiliation', 'event', 'events', 'people'])
      .where('tenant_id', '=', tenantId)
      .where('day', '>=', period.from)
      .where('day', '<=', period.to)
      .where((eb) => eb.or([eb('people', '=', 0), eb('people', '>=', k)]))
      .orderBy('day')
      .orderBy('service')
      .orderBy('affiliation')
      .orderBy('event')
      .execute(),
  );
  return rows.map((r) => ({ ...r, events: Number(r.events) }));
}

function breakdown(rows: { key: string; day: string; events: number; people: number }[], k: number): Breakdown[] {
  const byKey = new Map<string, { events: number; people: number; days: number; withheld: number }>();
  for (const row of rows) {
    const entry = byKey.get(row.key) ?? { events: 0, people: 0, days: 0, withheld: 0 };
    if (shown(row.people, k)) {
      entry.events += row.events;
      entry.people += row.people;
      entry.days += 1;
    } else entry.withheld += 1;
    byKey.set(row.key, entry);
  }
  return [...byKey]
    .map(([key, e]) => ({ key, events: e.events, averageDailyPeople: e.days > 0 ? Math.round(e.people / e.days) : null, withheldDays: e.withheld }))
    .sort((a, b) => b.events - a.events || a.key.localeCompare(b.key));
}

export async function usageReport(database: DbHandle, tenant: Pick<Tenant, 'id' | 'declaration'>, period: Period): Promise<UsageReport> {
  const k = statisticsSettings(tenant.declaration).minGroupSize;
  const tenantId = tenant.id;
  const firstMonth = monthOf(period.from);
  const { daily, monthly } = await database.withTenant(tenantId, async (trx) => {
    // Only the rows the page draws: each dimension alone, the others at '*'.
    const daily = await trx
      .selectFrom('usage_daily')
      .select([sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'service', 'affiliation', 'event', 'events', 'people'])
      .where('tenant_id', '=', tenantId)
      .where('day', '>=', period.from)
      .where('day', '<=', period.to)
      .where((eb) =>
        eb.or([
          eb.and([eb('affiliation', '=', '*'), eb('event', '=', '*')]),
          eb.and([eb('service', '=', '*'), eb('event', '=', '*')]),
          eb.and([eb('service', '=', '*'), eb('affiliation', '=', '*')]),
        ]),
      )
      .orderBy('day')
      .execute();
    const monthly = await trx
      .selectFrom('usage_monthly')
      .select([sql<string>`to_char(month, 'YYYY-MM-DD')`.as('month'), 'events', 'people'])
      .where('tenant_id', '=', tenantId)
      .where('month', '>=', firstMonth)
      .where('month', '<', nextMonth(monthOf(period.to)))
      .where('service', '=', '*')
      .where('affiliation', '=', '*')
      .where('event', '=', '*')
      .orderBy('month')
      .execute();
    return { daily: daily.map((r) => ({ ...r, events: Number(r.events) })), monthly: monthly.map((r) => ({ ...r, events: Number(r.events) })) };
  });

  const totals = new Map(daily.filter((r) => r.service === '*' && r.affiliation === '*' && r.event === '*').map((r) => [r.day, r]));
  const days: DayFigures[] = [];
  for (let day = period.from; day <= period.to; day = nextDay(day)) {
    const row = totals.get(day);
    if (!row) days.push({ day, people: 0, events: 0 });
    else if (shown(row.people, k)) days.push({ day, people: row.people, events: row.events });
    else days.push({ day, people: null, events: null });
  }
  const dimension = (pick: (r: AggregateRow) => string, isAlone: (r: AggregateRow) => boolean) =>
    breakdown(
      daily.filter((r) => isAlone(r) && pick(r) !== '*').map((r) => ({ key: pick(r), day: r.day, events: r.events, people: r.people })),
      k,
    );
  return {
    period,
    minGroupSize: k,
    daily: days,
    monthly: monthly.map((m) => (shown(m.people, k) ? { month: m.month, people: m.people, events: m.events } : { month: m.month, people: null, events: null })),
    byService: dimension((r) => r.service, (r) => r.affiliation === '*' && r.event === '*'),
    byAffiliation: dimension((r) => r.affiliation, (r) => r.service === '*' && r.event === '*'),
    byEvent: dimension((r) => r.event, (r) => r.service === '*' && r.affiliation === '*'),
  };
}

const nextDay = (day: string) => {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
};

export interface TenantUsage {
  tenantId: string;
  slug: string;
  displayName: string;
  report: UsageReport;
}

/**
 * The operator's regional dashboard: the same report for every tenant, side by side. Each
 * tenant is read in its own withTenant (RLS sees one tenant at a time): this loop is the one
 * cross-tenant path of the statistics, and the caller (the operator console) audits its use.
 */
export async function regionalStatistics(database: DbHandle, registry: Pick<TenantRegistry, 'all'>, period: Period): Promise<TenantUsage[]> {
  const tenants = [...registry.all()].sort((a, b) => a.slug.localeCompare(b.slug));
  const reports: TenantUsage[] = [];
  for (const tenant of tenants) {
    reports.push({ tenantId: tenant.id, slug: tenant.slug, displayName: tenant.displayName, report: await usageReport(database, tenant, period) });
  }
  return reports;
}
