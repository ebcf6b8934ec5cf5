// Kysely types of the SAML tables (migrations/0002_saml.sql), merged into the one Database
// interface so queries stay typed.
import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface SamlSpKeysTable {
  tenant_id: string;
  id: string;
  status: 'current' | 'next' | 'retired';
  certificate: string;
  private_key: Buffer;
  created_at: Timestamp;
}

export interface SamlIdpMetadataTable {
  tenant_id: string;
  entity_id: string;
  source_url: string;
  xml: string;
  valid_until: Date | null;
  fetched_at: Timestamp;
}

declare module '../../platform/database.js' {
  interface Database {
    saml_sp_keys: SamlSpKeysTable;
    saml_idp_metadata: SamlIdpMetadataTable;
  }
}
