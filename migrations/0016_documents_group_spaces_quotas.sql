-- Documents: group spaces and the quotas a tenant admin sets (issue 5).
--
-- A group's space needs no row to exist: its nodes are document_nodes with group_id = space_id =
-- the group's id (0006). This table holds what the group's owners (or the tenant's admins, for
-- groups without owners: imported and dynamic ones) decide, and the quota an admin gives it.
-- No row means: members read only, and the group space's quota is the tenant's default per person.
create table document_group_spaces (
  tenant_id      uuid not null references tenants (id) on delete cascade,
  group_id       uuid not null,
  member_access  text not null default 'read' check (member_access in ('read', 'write')),
  -- Bytes; null: the tenant's default per person. Never above the tenant total (checked by the
  -- service, which knows the total from the declaration).
  quota          bigint check (quota >= 0),
  updated_at     timestamptz not null default now(),
  primary key (tenant_id, group_id),
  foreign key (tenant_id, group_id) references groups (tenant_id, id) on delete cascade
);

-- The tenant admin's default quota per person (null: the declaration's quotas.storagePerPerson).
create table document_quota_settings (
  tenant_id           uuid primary key references tenants (id) on delete cascade,
  default_per_person  bigint check (default_per_person >= 0),
  updated_at          timestamptz not null default now()
);

-- A quota given to one person, in place of the default.
create table document_person_quotas (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  person_id   uuid not null,
  quota       bigint not null check (quota >= 0),
  updated_at  timestamptz not null default now(),
  primary key (tenant_id, person_id),
  foreign key (tenant_id, person_id) references people (tenant_id, id) on delete cascade
);

-- The admin's usage page sorts spaces by size.
create index document_usage_used on document_usage (tenant_id, used desc);

alter table document_group_spaces enable row level security;
alter table document_group_spaces force row level security;
create policy tenant_isolation on document_group_spaces
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table document_quota_settings enable row level security;
alter table document_quota_settings force row level security;
create policy tenant_isolation on document_quota_settings
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table document_person_quotas enable row level security;
alter table document_person_quotas force row level security;
create policy tenant_isolation on document_person_quotas
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
