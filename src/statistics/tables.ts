// The usage statistics tables (migrations/0008_notifications_stats.sql, 0020), added to the one Database interface.
import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A date column: read as YYYY-MM-DD text (cast in queries), written as text. */
type Day = ColumnType<string, string, string>;
type Count = ColumnType<number, number | bigint, number | bigint>;

export interface UsageEventsTable {
  tenant_id: string;
  id: string;
  occurred_at: Timestamp;
  person_id: string | null;
  event: string;
  service: string;
  /** Identical events of one flush, written as one row (migrations/0013). */
  count: ColumnType<number, number | undefined, number>;
}

/** A person's (or the anonymous visitors') count of one event of one service on one day (migrations/0020). */
export interface UsagePersonDaysTable {
  tenant_id: string;
  day: Day;
  /** ANONYMOUS (src/statistics/events.ts) for anonymous visitors. */
  person_id: string;
  service: string;
  event: string;
  count: Count;
}

export interface UsageAggregateRow {
  tenant_id: string;
  service: string;
  affiliation: string;
  event: string;
  events: Count;
  people: number;
}

export interface UsageDailyTable extends UsageAggregateRow {
  day: Day;
}

export interface UsageMonthlyTable extends UsageAggregateRow {
  month: Day;
}

declare module '../platform/database.js' {
  interface Database {
    /** No longer written (migrations/0020 moved its rows to usage_person_days). */
    usage_events: UsageEventsTable;
    usage_person_days: UsagePersonDaysTable;
    usage_daily: UsageDailyTable;
    usage_monthly: UsageMonthlyTable;
  }
}
