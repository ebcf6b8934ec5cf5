// Recording usage events without slowing the request: record() adds one to an in-memory count
// per (tenant, day, person, service, event); every flushMs, 5 s (or as soon as batchSize counts wait)
// the counts are added to their rows of usage_person_days (migrations/0020), one upsert statement
// per tenant with array parameters, and once more when the app closes.
//
// Why counts and not events: a person's day is a handful of rows however many pages they open,
// so PostgreSQL updates a few rows a second instead of inserting one per event, and the daily
// roll-up reads a handful of rows per person. Why memory and not Redis: a Redis push is a network
// round trip (and a failure mode) on every request; a map increment is not (bench/stats.ts). What
// it gives up: the counts of the last flushMs of a process killed without a graceful stop. For
// statistics that is acceptable; for an audit log it would not be.
//
// Bounded: beyond maxBuffered waiting counts (PostgreSQL away), events of a new key are dropped
// and counted, never the process's memory; counts that could not be written are kept for the
// next flush. A write that committed but whose answer was lost would be counted twice on retry:
// statistics, not accounting.
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { DbHandle } from '../platform/db.js';
import { ANONYMOUS, isUsageEvent, isUsageService, type UsageEventName, type UsageService } from './events.js';
import { dayIn } from './rollup.js';
import './tables.js';

export interface UsageEvent {
  tenantId: string;
  /** Null for an anonymous visitor. */
  personId: string | null;
  event: UsageEventName;
  service: UsageService;
  /** Default: now. Counted on its day in Europe/Paris. */
  at?: Date;
}

export interface UsageRecorder {
  /** Never waits and never throws: a bad event is dropped (and counted). */
  record(event: UsageEvent): void;
  /** Writes what is buffered now (tests, shutdown). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
  counters(): { recorded: number; written: number; dropped: number; buffered: number };
}

export interface RecorderOptions {
  flushMs?: number;
  batchSize?: number;
  maxBuffered?: number;
  log?: Pick<Logger, 'warn' | 'error'>;
}

/** Counts waiting to be added to one usage_person_days row. */
interface Pending {
  tenantId: string;
  day: string;
  personId: string;
  service: string;
  event: string;
  count: number;
}

const keyOf = (e: Omit<Pending, 'count'>) => `${e.tenantId}|${e.day}|${e.personId}|${e.service}|${e.event}`;

/** Rows per statement (six array parameters, whatever the number of rows). */
const UPSERT_ROWS = 5000;

/**
 * Today in the region's time zone, formatted once a minute: the region's midnight falls on a
 * minute boundary (its offsets from UTC are whole hours), so this is exact.
 */
function dayClock(): (at?: Date) => string {
  let day = '';
  let until = 0;
  return (at) => {
    if (at) return dayIn(at);
    const now = Date.now();
    if (now >= until) {
      day = dayIn(new Date(now));
      until = Math.floor(now / 60_000) * 60_000 + 60_000;
    }
    return day;
  };
}

export function createUsageRecorder(database: DbHandle, options: RecorderOptions = {}): UsageRecorder {
  // Every 5 s: a flush (a transaction per tenant) costs the process far more than the map
  // increments it writes (the profile of bench/stats.ts: at one flush a second, the flushes were
  // two thirds of what recording cost). Flushing by size is a bound, not the rhythm (at 500
  // events, a busy page flushed ten times a second and cost requests 14 %).
  const flushMs = options.flushMs ?? 5000;
  const batchSize = options.batchSize ?? 10_000;
  const maxBuffered = options.maxBuffered ?? 100_000;
  const today = dayClock();
  let buffer = new Map<string, Pending>();
  let pendingEvents = 0;
  let recorded = 0;
  let written = 0;
  let dropped = 0;
  let closed = false;
  let flushing: Promise<void> | undefined;
  let soon = false;

  async function writeTenant(tenantId: string, rows: Pending[]): Promise<void> {
    // Always in key order: two replicas adding to the same rows lock them in the same order, so
    // they wait for each other instead of deadlocking.
    rows.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : a.service < b.service ? -1 : a.service > b.service ? 1 : a.event < b.event ? -1 : a.event > b.event ? 1 : 0));
    await database.withTenant(tenantId, async (trx) => {
      for (let i = 0; i < rows.length; i += UPSERT_ROWS) {
        const batch = rows.slice(i, i + UPSERT_ROWS);
        await sql`
          insert into usage_person_days as u (tenant_id, day, person_id, service, event, count)
          select ${tenantId}::uuid, unnest(${batch.map((e) => e.day)}::date[]), unnest(${batch.map((e) => e.personId)}::uuid[]),
                 unnest(${batch.map((e) => e.service)}::text[]), unnest(${batch.map((e) => e.event)}::text[]), unnest(${batch.map((e) => e.count)}::bigint[])
          on conflict (tenant_id, day, person_id, service, event) do update set count = u.count + excluded.count`.execute(trx);
      }
    });
  }

  async function writeOut(): Promise<void> {
    while (buffer.size > 0) {
      const batch = buffer;
      buffer = new Map();
      pendingEvents = 0;
      const byTenant = new Map<string, Pending[]>();
      for (const e of batch.values()) {
        const list = byTenant.get(e.tenantId);
        if (list) list.push(e);
        else byTenant.set(e.tenantId, [e]);
      }
      const tenants = [...byTenant];
      const results = await Promise.allSettled(tenants.map(([tenantId, rows]) => writeTenant(tenantId, rows)));
      let failed = false;
      results.forEach((result, i) => {
        const [tenantId, rows] = tenants[i]!;
        const events = rows.reduce((n, r) => n + r.count, 0);
        if (result.status === 'fulfilled') {
          written += events;
          return;
        }
        failed = true;
        options.log?.warn({ err: result.reason, tenant: tenantId, events }, 'usage counts not written; kept for the next flush');
        // Back in the buffer, within the bound; the next tick tries again (not this loop: no spin).
        for (const row of rows) {
          const key = keyOf(row);
          const there = buffer.get(key);
          if (there) there.count += row.count;
          else if (buffer.size < maxBuffered) buffer.set(key, row);
          else {
            dropped += row.count;
            continue;
          }
          pendingEvents += row.count;
        }
      });
      if (failed) return;
    }
  }

  function flush(): Promise<void> {
    // One writer at a time; a flush asked for meanwhile runs right after it.
    const run = (flushing ?? Promise.resolve()).then(writeOut).catch((error: unknown) => options.log?.error({ err: error }, 'usage flush failed'));
    const mine = run.finally(() => {
      if (flushing === mine) flushing = undefined;
    });
    flushing = mine;
    return mine;
  }

  const timer = setInterval(() => {
    if (buffer.size > 0) void flush();
  }, flushMs);
  timer.unref();

  return {
    record(event) {
      if (closed || !isUsageEvent(event.event) || !isUsageService(event.service)) {
        dropped += 1;
        return;
      }
      const day = today(event.at);
      const personId = event.personId ?? ANONYMOUS;
      const key = `${event.tenantId}|${day}|${personId}|${event.service}|${event.event}`;
      const pending = buffer.get(key);
      if (pending) pending.count += 1;
      else if (buffer.size >= maxBuffered) {
        dropped += 1;
        return;
      } else {
        buffer.set(key, { tenantId: event.tenantId, day, personId, service: event.service, event: event.event, count: 1 });
      }
      recorded += 1;
      pendingEvents += 1;
      if (pendingEvents >= batchSize && !soon) {
        soon = true;
        setImmediate(() => {
          soon = false;
          void flush();
        });
      }
    },
    flush,
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
    },
    counters: () => ({ recorded, written, dropped, buffered: pendingEvents }),
  };
}
