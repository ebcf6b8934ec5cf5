// Kysely types of the SAML tables (migrations/0002_saml.sql, 0023), merged into the one Database
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

/** migrations/0023: the PEM certificates that sign a metadataUrl's document, copied by `tenants apply`. */
export interface SamlMetadataSignersTable {
  tenant_id: string;
  entity_id: string;
  metadata_url: string;
  certificates: string;
}

declare module '../../platform/database.js' {
  interface Database {
    saml_sp_keys: SamlSpKeysTable;
    saml_idp_metadata: SamlIdpMetadataTable;
    saml_metadata_signers: SamlMetadataSignersTable;
  }
}
