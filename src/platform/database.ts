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
}

export interface GroupsTable {
  tenant_id: string;
  id: string;
  kind: 'institutional' | 'workgroup' | 'imported' | 'dynamic';
  name: string;
  description: string | null;
  created_at: Timestamp;
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

export interface Database {
  tenants: TenantsTable;
  tenant_hosts: TenantHostsTable;
  tenant_assets: TenantAssetsTable;
  people: PeopleTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  mail_deliveries: MailDeliveriesTable;
}
