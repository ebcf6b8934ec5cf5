// The usage statistics tables (migrations/0008_notifications_stats.sql), added to the one Database interface.
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
    usage_events: UsageEventsTable;
    usage_daily: UsageDailyTable;
    usage_monthly: UsageMonthlyTable;
  }
}
