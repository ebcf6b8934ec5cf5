// Recording usage events without slowing the request: record() only pushes to an in-memory
// buffer; the buffer is written in multi-row INSERTs, one transaction per tenant, every flushMs
// or as soon as batchSize events wait, and once more when the app closes.
//
// Why memory and not Redis: a Redis push is a network round trip (and a failure mode) on every
// request; an array push is not (bench/stats.ts measures what recording costs a request). What
// it gives up: the events of the last second of a process killed without a graceful stop. For
// statistics that is acceptable; for an audit log it would not be.
//
// Bounded: beyond maxBuffered waiting events (PostgreSQL away), new events are dropped and
// counted, never the process's memory.
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

interface Buffered {
  tenantId: string;
  personId: string | null;
  event: string;
  service: string;
  at: Date;
}

/** Rows per INSERT: 6 parameters each, well under PostgreSQL's 65,535 parameters. */
const INSERT_ROWS = 1000;

export function createUsageRecorder(database: DbHandle, options: RecorderOptions = {}): UsageRecorder {
  const flushMs = options.flushMs ?? 1000;
  const batchSize = options.batchSize ?? 500;
  const maxBuffered = options.maxBuffered ?? 100_000;
  let buffer: Buffered[] = [];
  let recorded = 0;
  let written = 0;
  let dropped = 0;
  let closed = false;
  let flushing: Promise<void> | undefined;
  let soon = false;

  async function writeTenant(tenantId: string, events: Buffered[]): Promise<void> {
    await database.withTenant(tenantId, async (trx) => {
      for (let i = 0; i < events.length; i += INSERT_ROWS) {
        const rows = events.slice(i, i + INSERT_ROWS).map((e) => ({
          tenant_id: tenantId,
          id: newId(),
          occurred_at: e.at,
          person_id: e.personId,
          event: e.event,
          service: e.service,
        }));
        await trx.insertInto('usage_events').values(rows).execute();
      }
    });
  }

  async function writeOut(): Promise<void> {
    while (buffer.length > 0) {
      const batch = buffer;
      buffer = [];
      const byTenant = new Map<string, Buffered[]>();
      for (const e of batch) {
        const list = byTenant.get(e.tenantId);
        if (list) list.push(e);
        else byTenant.set(e.tenantId, [e]);
      }
      const results = await Promise.allSettled([...byTenant].map(([tenantId, events]) => writeTenant(tenantId, events).then(() => events.length)));
      const failed: Buffered[] = [];
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') written += result.value;
        else {
          const [tenantId, events] = [...byTenant][i]!;
          options.log?.warn({ err: result.reason, tenant: tenantId, events: events.length }, 'usage events not written; kept for the next flush');
          failed.push(...events);
        }
      });
      if (failed.length > 0) {
        // Put back in front, within the bound; the next tick tries again (not this loop: no spin).
        const room = Math.max(0, maxBuffered - buffer.length);
        dropped += Math.max(0, failed.length - room);
        buffer = [...failed.slice(0, room), ...buffer];
        return;
      }
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
    if (buffer.length > 0) void flush();
  }, flushMs);
  timer.unref();

  return {
    record(event) {
      if (closed || !isUsageEvent(event.event) || !isUsageService(event.service)) {
        dropped += 1;
        return;
      }
      if (buffer.length >= maxBuffered) {
        dropped += 1;
        return;
      }
      recorded += 1;
      buffer.push({ tenantId: event.tenantId, personId: event.personId, event: event.event, service: event.service, at: event.at ?? new Date() });
      if (buffer.length >= batchSize && !soon) {
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
    counters: () => ({ recorded, written, dropped, buffered: buffer.length }),
  };
}
