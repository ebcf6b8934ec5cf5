// Kysely types of the operator's tables (migrations/0007_operator.sql), merged into the one
// Database interface.
import type { ColumnType } from 'kysely';

export type AuditAction = 'sign-in' | 'suspend' | 'resume' | 'retry-job' | 'export' | 'purge';

export interface OperatorAuditTable {
  id: string;
  at: ColumnType<Date, Date | string | undefined, never>;
  actor: string;
  actor_name: string;
  action: AuditAction;
  tenant_id: string | null;
  tenant_slug: string | null;
  detail: ColumnType<Record<string, string>, Record<string, string> | undefined, never>;
  ip: string;
  request_id: string;
}

declare module '../platform/database.js' {
  interface Database {
    operator_audit: OperatorAuditTable;
  }
}
