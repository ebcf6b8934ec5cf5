// Recording usage events without slowing the request: record() only pushes to an in-memory
// buffer; the buffer is written (identical events counted in one row), one transaction per tenant, every flushMs
// or as soon as batchSize events wait, and once more when the app closes.
//
// Why memory and not Redis: a Redis push is a network round trip (and a failure mode) on every
// request; an array push is not (bench/stats.ts measures what recording costs a request). What
// it gives up: the events of the last second of a process killed without a graceful stop. For
// statistics that is acceptable; for an audit log it would not be.
//
// Bounded: beyond maxBuffered waiting rows (PostgreSQL away), new events are dropped and counted,
// never the process's memory.
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { DbHandle } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import { isUsageEvent, isUsageService, type UsageEventName, type UsageService } from './events.js';
import './tables.js';

export interface UsageEvent {
  tenantId: string;
  /** Null for an anonymous visitor. */
  personId: string | null;
  event: UsageEventName;
  service: UsageService;
  /** Default: now. */
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

/** Identical events waiting to be written: the first one's time, and how many. */
interface Pending {
  tenantId: string;
  personId: string | null;
  event: string;
  service: string;
  at: Date;
  count: number;
}

const keyOf = (e: { tenantId: string; personId: string | null; event: string; service: string }) => `${e.tenantId}|${e.personId}|${e.event}|${e.service}`;

/** Rows per INSERT (seven array parameters, whatever the number of rows). */
const INSERT_ROWS = 1000;

export function createUsageRecorder(database: DbHandle, options: RecorderOptions = {}): UsageRecorder {
  const flushMs = options.flushMs ?? 1000;
  // Flushing by size is a bound, not the rhythm: the timer writes every second (at 500 events, a
  // busy page flushed ten times a second and cost requests 14 %; bench/stats.ts).
  const batchSize = options.batchSize ?? 10_000;
  const maxBuffered = options.maxBuffered ?? 100_000;
  // Pending events, already counted per (tenant, person, event, service): recording a page view
  // is a map increment, and a busy page costs PostgreSQL one row a second (migrations/0013).
  let buffer = new Map<string, Pending>();
  let pendingEvents = 0;
  let recorded = 0;
  let written = 0;
  let dropped = 0;
  let closed = false;
  let flushing: Promise<void> | undefined;
  let soon = false;

  async function writeTenant(tenantId: string, rows: Pending[]): Promise<void> {
    // One prepared statement with array parameters per batch, not a statement of
    // 7 x INSERT_ROWS parameters to compile and parse.
    await database.withTenant(tenantId, async (trx) => {
      for (let i = 0; i < rows.length; i += INSERT_ROWS) {
        const batch = rows.slice(i, i + INSERT_ROWS);
        await sql`
          insert into usage_events (tenant_id, id, occurred_at, person_id, event, service, count)
          select ${tenantId}::uuid, unnest(${batch.map(() => newId())}::uuid[]), unnest(${batch.map((e) => e.at.toISOString())}::timestamptz[]),
                 unnest(${batch.map((e) => e.personId)}::uuid[]), unnest(${batch.map((e) => e.event)}::text[]),
                 unnest(${batch.map((e) => e.service)}::text[]), unnest(${batch.map((e) => e.count)}::int[])`.execute(trx);
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
        options.log?.warn({ err: result.reason, tenant: tenantId, events }, 'usage events not written; kept for the next flush');
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
      const key = keyOf(event);
      const pending = buffer.get(key);
      if (pending) pending.count += 1;
      else if (buffer.size >= maxBuffered) {
        dropped += 1;
        return;
      } else {
        buffer.set(key, { tenantId: event.tenantId, personId: event.personId, event: event.event, service: event.service, at: event.at ?? new Date(), count: 1 });
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
