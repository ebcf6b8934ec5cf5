// The figures of a period, from the aggregates only, with k-anonymity applied: a figure about
// fewer than minGroupSize people (but at least one) is withheld, never shown nor exported, and so
// is a complementary figure wherever a shown total would give the withheld one away
// (suppression.ts). Rows about anonymous visitors only (people = 0) concern nobody identifiable.
// The same function serves a tenant's admin page and, tenant by tenant, the operator's regional
// dashboard (regionalStatistics): every tenant has one event schema, so the figures compare.
import type { DbHandle } from '../platform/db.js';
import type { Tenant, TenantRegistry } from '../tenancy/registry.js';
import { addDays, nextMonth, monthOf, statisticsSettings } from './rollup.js';
import { sql } from 'kysely';
import { suppressCube, type CubeRow } from './suppression.js';
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

/** A row of usage_daily as the reports read it: suppression.ts's cube row. */
export type AggregateRow = CubeRow;

type Trx = Parameters<Parameters<DbHandle['withTenant']>[1]>[0];

interface Cube {
  /** Every daily row of the whole months covering the period, each with whether it is withheld. */
  daily: (AggregateRow & { hidden: boolean })[];
  /** The months' totals ('*' everywhere). */
  monthly: { month: string; events: number; people: number; hidden: boolean }[];
}

/**
 * The aggregates of the months covering the period, with the cells k-anonymity withholds marked.
 * Whole months, whatever the period: the pattern of withheld cells must not depend on the period
 * asked (suppression.ts), or two periods would give away what each one hides.
 */
async function readCube(trx: Trx, tenantId: string, period: Period, k: number): Promise<Cube> {
  const firstMonth = monthOf(period.from);
  const afterLast = nextMonth(monthOf(period.to));
  const daily = await trx
    .selectFrom('usage_daily')
    .select([sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'service', 'affiliation', 'event', 'events', 'people'])
    .where('tenant_id', '=', tenantId)
    .where('day', '>=', firstMonth)
    .where('day', '<', afterLast)
    .orderBy('day')
    .orderBy('service')
    .orderBy('affiliation')
    .orderBy('event')
    .execute();
  const monthly = await trx
    .selectFrom('usage_monthly')
    .select([sql<string>`to_char(month, 'YYYY-MM-DD')`.as('month'), 'events', 'people'])
    .where('tenant_id', '=', tenantId)
    .where('month', '>=', firstMonth)
    .where('month', '<', afterLast)
    .where('service', '=', '*')
    .where('affiliation', '=', '*')
    .where('event', '=', '*')
    .orderBy('month')
    .execute();
  const rows = daily.map((r) => ({ ...r, events: Number(r.events) }));
  const months = monthly.map((m) => ({ ...m, events: Number(m.events) }));
  const hidden = suppressCube(rows, months, k);
  return {
    daily: rows.map((r, i) => ({ ...r, hidden: hidden.rows[i] === 1 })),
    monthly: months.map((m, i) => ({ ...m, hidden: hidden.months[i] === 1 })),
  };
}

/** Every row of usage_daily in the period that k-anonymity lets out (the CSV export). */
export async function visibleDailyRows(database: DbHandle, tenantId: string, period: Period, k: number): Promise<AggregateRow[]> {
  const cube = await database.withTenant(tenantId, (trx) => readCube(trx, tenantId, period, k));
  return cube.daily.filter((r) => !r.hidden && r.day >= period.from && r.day <= period.to).map(({ hidden: _, ...row }) => row);
}

function breakdown(rows: { key: string; day: string; events: number; people: number; hidden: boolean }[]): Breakdown[] {
  const byKey = new Map<string, { events: number; people: number; days: number; withheld: number }>();
  for (const row of rows) {
    const entry = byKey.get(row.key) ?? { events: 0, people: 0, days: 0, withheld: 0 };
    if (!row.hidden) {
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
  const cube = await database.withTenant(tenant.id, (trx) => readCube(trx, tenant.id, period, k));
  const inPeriod = cube.daily.filter((r) => r.day >= period.from && r.day <= period.to);

  const totals = new Map(inPeriod.filter((r) => r.service === '*' && r.affiliation === '*' && r.event === '*').map((r) => [r.day, r]));
  const days: DayFigures[] = [];
  for (let day = period.from; day <= period.to; day = addDays(day, 1)) {
    const row = totals.get(day);
    if (!row) days.push({ day, people: 0, events: 0 });
    else if (!row.hidden) days.push({ day, people: row.people, events: row.events });
    else days.push({ day, people: null, events: null });
  }
  // Each dimension alone, the others at '*'.
  const dimension = (pick: (r: AggregateRow) => string, isAlone: (r: AggregateRow) => boolean) =>
    breakdown(inPeriod.filter((r) => isAlone(r) && pick(r) !== '*').map((r) => ({ key: pick(r), day: r.day, events: r.events, people: r.people, hidden: r.hidden })));
  return {
    period,
    minGroupSize: k,
    daily: days,
    monthly: cube.monthly.map((m) => (m.hidden ? { month: m.month, people: null, events: null } : { month: m.month, people: m.people, events: m.events })),
    byService: dimension((r) => r.service, (r) => r.affiliation === '*' && r.event === '*'),
    byAffiliation: dimension((r) => r.affiliation, (r) => r.service === '*' && r.event === '*'),
    byEvent: dimension((r) => r.event, (r) => r.service === '*' && r.affiliation === '*'),
  };
}

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
