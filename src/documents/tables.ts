// Kysely types of the documents tables (migrations/0006_documents.sql), merged into the one
// Database interface so queries stay typed.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** bigint columns: postgres.js returns them as BigInt (src/platform/db.ts). */
type Bytes = ColumnType<bigint, bigint | number | undefined, bigint | number>;

export interface DocumentNodesTable {
  tenant_id: string;
  id: string;
  space_id: string;
  owner_id: string;
  group_id: string | null;
  parent_id: string | null;
  kind: 'folder' | 'file';
  name: string;
  size: Bytes;
  content_type: string | null;
  current_version_id: string | null;
  deleted_at: NullableTimestamp;
  trashed_root: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DocumentVersionsTable {
  tenant_id: string;
  id: string;
  node_id: string;
  object_key: string;
  size: Bytes;
  content_type: string;
  sha256: string;
  created_by: string | null;
  created_at: Timestamp;
}

export interface DocumentUsageTable {
  tenant_id: string;
  space_id: string;
  used: Bytes;
  reserved: Bytes;
}

export interface DocumentReservationsTable {
  tenant_id: string;
  id: string;
  space_id: string;
  bytes: Bytes;
  created_at: Timestamp;
}

export interface DocumentSharesTable {
  tenant_id: string;
  id: string;
  node_id: string;
  person_id: string | null;
  group_id: string | null;
  access: 'read' | 'write';
  created_by: string;
  created_at: Timestamp;
}

export interface DocumentLinksTable {
  tenant_id: string;
  id: string;
  node_id: string;
  token_sha256: string;
  password_hash: string | null;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  downloads: Generated<number>;
  created_by: string;
  created_at: Timestamp;
}

// migrations/0016_documents_group_spaces_quotas.sql
export interface DocumentGroupSpacesTable {
  tenant_id: string;
  group_id: string;
  member_access: ColumnType<'read' | 'write', 'read' | 'write' | undefined, 'read' | 'write'>;
  quota: ColumnType<bigint | null, bigint | number | null | undefined, bigint | number | null>;
  updated_at: Timestamp;
}

export interface DocumentQuotaSettingsTable {
  tenant_id: string;
  default_per_person: ColumnType<bigint | null, bigint | number | null | undefined, bigint | number | null>;
  updated_at: Timestamp;
}

export interface DocumentPersonQuotasTable {
  tenant_id: string;
  person_id: string;
  quota: Bytes;
  updated_at: Timestamp;
}

declare module '../platform/database.js' {
  interface Database {
    document_nodes: DocumentNodesTable;
    document_versions: DocumentVersionsTable;
    document_usage: DocumentUsageTable;
    document_reservations: DocumentReservationsTable;
    document_shares: DocumentSharesTable;
    document_links: DocumentLinksTable;
    document_group_spaces: DocumentGroupSpacesTable;
    document_quota_settings: DocumentQuotaSettingsTable;
    document_person_quotas: DocumentPersonQuotasTable;
  }
}
