// Roll-ups: the per-person counts of one day (or one month) into usage_daily (usage_monthly), per
// service, affiliation and event, with CUBE totals ('*'): event counts and distinct people.
// A period is replaced whole, in one transaction (delete, then insert from the per-person counts):
// run twice, it gives the same rows. A period whose counts may already be purged is refused, so a
// late re-run can never replace good aggregates with empty ones.
import { sql } from 'kysely';
import type { DbHandle } from '../platform/db.js';
import type { Declaration } from '../tenancy/declaration.js';
import { ANONYMOUS } from './events.js';
import './tables.js';

export const TIME_ZONE = 'Europe/Paris';
export const DEFAULT_RETENTION_DAYS = 395;
export const DEFAULT_MIN_GROUP_SIZE = 5;

export const statisticsSettings = (declaration: Pick<Declaration, 'statistics'>) => ({
  retentionDays: declaration.statistics?.retentionDays ?? DEFAULT_RETENTION_DAYS,
  minGroupSize: declaration.statistics?.minGroupSize ?? DEFAULT_MIN_GROUP_SIZE,
});

/** Someone with several affiliations is counted once, under the first of these they have. */
const AFFILIATION_ORDER = ['student', 'teacher', 'faculty', 'researcher', 'staff', 'employee', 'affiliate', 'alumni', 'member'];

const affiliationSql = sql.join(
  AFFILIATION_ORDER.map((a) => sql`when ${a} = any(p.affiliations) then ${a}`),
  sql` `,
);

const DAY_FORMAT = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE });
/** YYYY-MM-DD of a date in the region's time zone. */
export const dayIn = (at: Date) => DAY_FORMAT.format(at);

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export const monthOf = (day: string) => `${day.slice(0, 7)}-01`;
export function nextMonth(month: string): string {
  const d = new Date(`${month}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 10);
}

export class RetentionError extends Error {
  override name = 'RetentionError';
}

/** The first day whose per-person counts are all still kept. */
export const oldestKeptDay = (retentionDays: number, now = new Date()) => addDays(dayIn(now), -retentionDays + 1);

function aggregateSelect(tenantId: string, from: string, to: string) {
  // Days [from, to), as the recorder counted them (days in Europe/Paris).
  return sql`
    select coalesce(service, '*') as service, coalesce(affiliation, '*') as affiliation, coalesce(event, '*') as event,
           sum(count) as events, (count(distinct person_id) filter (where person_id <> ${ANONYMOUS}::uuid))::int as people
    from (
      select u.service, u.event, u.person_id, u.count,
             case when u.person_id = ${ANONYMOUS}::uuid then 'anonymous'
                  when p.id is null then 'unknown'
                  else case ${affiliationSql} else 'other' end end as affiliation
      from usage_person_days u
      left join people p on p.tenant_id = u.tenant_id and p.id = u.person_id
      where u.tenant_id = ${tenantId} and u.day >= ${from}::date and u.day < ${to}::date
    ) x
    group by cube (service, affiliation, event)`;
}

export async function rollupDay(database: DbHandle, tenantId: string, day: string, retentionDays: number, now = new Date()): Promise<number> {
  if (day < oldestKeptDay(retentionDays, now)) throw new RetentionError(`per-person counts of ${day} are past the ${retentionDays}-day retention; its aggregates are kept as they are`);
  return database.withTenant(tenantId, async (trx) => {
    await trx.deleteFrom('usage_daily').where('tenant_id', '=', tenantId).where('day', '=', day).execute();
    const result = await sql`
      insert into usage_daily (tenant_id, day, service, affiliation, event, events, people)
      select ${tenantId}, ${day}::date, service, affiliation, event, events, people from (${aggregateSelect(tenantId, day, addDays(day, 1))}) a`.execute(trx);
    return Number(result.numAffectedRows ?? 0n);
  });
}

/** The month containing `day`, from its per-person counts so far (the month to date, or all of it). */
export async function rollupMonth(database: DbHandle, tenantId: string, day: string, retentionDays: number, now = new Date()): Promise<number> {
  const month = monthOf(day);
  if (month < oldestKeptDay(retentionDays, now)) throw new RetentionError(`per-person counts of ${month.slice(0, 7)} are past the ${retentionDays}-day retention`);
  return database.withTenant(tenantId, async (trx) => {
    await trx.deleteFrom('usage_monthly').where('tenant_id', '=', tenantId).where('month', '=', month).execute();
    const result = await sql`
      insert into usage_monthly (tenant_id, month, service, affiliation, event, events, people)
      select ${tenantId}, ${month}::date, service, affiliation, event, events, people from (${aggregateSelect(tenantId, month, nextMonth(month))}) a`.execute(trx);
    return Number(result.numAffectedRows ?? 0n);
  });
}

/** Per-person counts older than the retention; aggregates stay. */
export async function purgeEvents(database: DbHandle, tenantId: string, retentionDays: number, now = new Date()): Promise<number> {
  const cutoff = oldestKeptDay(retentionDays, now);
  const result = await database.withTenant(tenantId, (trx) => trx.deleteFrom('usage_person_days').where('tenant_id', '=', tenantId).where('day', '<', cutoff).executeTakeFirst());
  return Number(result.numDeletedRows);
}
