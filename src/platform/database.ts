// The one Database interface Kysely types queries with. Rows stay snake_case, as in SQL;
// each feature maps them to camelCase domain objects in its repository.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface TenantsTable {
  id: string;
  slug: string;
  display_name: string;
  status: 'active' | 'suspended';
  declaration: ColumnType<unknown, object, object>;
  digest: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TenantHostsTable {
  host: string;
  tenant_id: string;
}

export interface TenantAssetsTable {
  tenant_id: string;
  name: string;
  content_type: string;
  sha256: string;
  body: Buffer;
  updated_at: Timestamp;
}

export interface PeopleTable {
  tenant_id: string;
  id: string;
  external_id: string;
  display_name: string;
  given_name: string | null;
  family_name: string | null;
  mail: string | null;
  affiliations: ColumnType<string[], string[] | undefined, string[]>;
  status: Generated<'active' | 'deactivated'>;
  created_at: Timestamp;
  updated_at: Timestamp;
  name_id: string | null;
  idp_entity_id: string | null;
  attributes: ColumnType<Record<string, string[]>, Record<string, string[]> | undefined, Record<string, string[]>>;
  roles: ColumnType<string[], string[] | undefined, string[]>;
  last_login_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  affectation: ColumnType<string | null, string | null | undefined, string | null>;
  title: ColumnType<string | null, string | null | undefined, string | null>;
  office_phone: ColumnType<string | null, string | null | undefined, string | null>;
  photo_key: ColumnType<string | null, string | null | undefined, string | null>;
  red_list: Generated<boolean>;
  preferred_mail: ColumnType<string | null, string | null | undefined, string | null>;
  phone_visible: Generated<boolean>;
  source: Generated<'login' | 'csv' | 'ldap' | 'admin'>;
  granted_roles: ColumnType<string[], string[] | undefined, string[]>;
  deactivated_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Kept by a trigger (migrations/0009): never written by the application. */
  search_text: ColumnType<string, never, never>;
  name_key: ColumnType<string, never, never>;
  /** The language the person chose (migrations/0011); null: the tenant's default. */
  locale: ColumnType<'fr' | 'en' | null, 'fr' | 'en' | null | undefined, 'fr' | 'en' | null>;
}

export interface GroupsTable {
  tenant_id: string;
  id: string;
  kind: 'institutional' | 'workgroup' | 'imported' | 'dynamic';
  name: string;
  description: string | null;
  created_at: Timestamp;
  source_key: ColumnType<string | null, string | null | undefined, string | null>;
  rule: ColumnType<unknown, object | null | undefined, object | null>;
  created_by: ColumnType<string | null, string | null | undefined, string | null>;
  updated_at: Timestamp;
}

export interface GroupInvitationsTable {
  tenant_id: string;
  group_id: string;
  person_id: string;
  invited_by: string | null;
  created_at: Timestamp;
}

export interface DirectoryImportsTable {
  tenant_id: string;
  id: string;
  source: 'csv' | 'ldap';
  dry_run: boolean;
  forced: Generated<boolean>;
  status: Generated<'queued' | 'running' | 'succeeded' | 'failed' | 'needs_force'>;
  file_name: string | null;
  requested_by: string | null;
  progress: Generated<number>;
  counts: ColumnType<Record<string, number>, Record<string, number> | undefined, Record<string, number>>;
  report: ColumnType<unknown, object | undefined, object>;
  error: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  started_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface DirectoryImportFilesTable {
  tenant_id: string;
  import_id: string;
  body: Buffer;
}

export interface DirectorySyncStateTable {
  tenant_id: string;
  source: 'ldap';
  high_water: string | null;
  last_full_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  updated_at: Timestamp;
}

/** Written by the triggers of migrations/0014 only; the application reads them. */
export interface PeopleSearchTermsTable {
  tenant_id: string;
  term: string;
  person_id: string;
  name_key: string;
  visible: boolean;
}

export interface DirectoryTermsTable {
  tenant_id: string;
  term: string;
  /** How many people hold the word (migrations/0026): chooses which word of a search drives. */
  people: Generated<number>;
}

export interface GroupMembersTable {
  tenant_id: string;
  group_id: string;
  person_id: string;
  role: Generated<'owner' | 'member'>;
}

export interface MailDeliveriesTable {
  tenant_id: string;
  key: string;
  message_id: string;
  status: 'sending' | 'sent';
  claim: string | null;
  claimed_at: Timestamp;
  sent_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** Active people per tenant, kept by a trigger on people (migrations/0012). */
export interface PeopleCountsTable {
  tenant_id: string;
  active: number;
}

export interface Database {
  tenants: TenantsTable;
  tenant_hosts: TenantHostsTable;
  tenant_assets: TenantAssetsTable;
  people: PeopleTable;
  people_counts: PeopleCountsTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  group_invitations: GroupInvitationsTable;
  directory_imports: DirectoryImportsTable;
  directory_import_files: DirectoryImportFilesTable;
  directory_sync_state: DirectorySyncStateTable;
  people_search_terms: PeopleSearchTermsTable;
  directory_terms: DirectoryTermsTable;
  mail_deliveries: MailDeliveriesTable;
}
