// The notification tables (migrations/0008_notifications_stats.sql), added to the one Database interface.
import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface NotificationsTable {
  tenant_id: string;
  id: string;
  person_id: string;
  category: string;
  title: string;
  body: ColumnType<string, string | undefined, string>;
  link: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  read_at: NullableTimestamp;
  digest_day: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface NotificationPreferencesTable {
  tenant_id: string;
  person_id: string;
  category: string;
  delivery: 'immediate' | 'digest' | 'in-app';
  updated_at: Timestamp;
}

declare module '../platform/database.js' {
  interface Database {
    notifications: NotificationsTable;
    notification_preferences: NotificationPreferencesTable;
  }
}
