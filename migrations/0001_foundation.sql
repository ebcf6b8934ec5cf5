-- Foundation: the tenant registry, tenant branding assets, and the directory's first tables.
--
-- Tenant isolation (DESIGN.md): every tenant-owned table has tenant_id first in its primary key
-- and in every foreign key, and row-level security ENABLEd and FORCEd with one policy that fails
-- closed: an unset app.tenant_id matches nothing.

create extension if not exists pg_trgm;
create extension if not exists unaccent;

-- The registry is platform data, not tenant data: it is how a host finds its tenant.
-- Written by `portique tenants apply` (owner role); the application may read it and change status.
create table tenants (
  id            uuid primary key,
  slug          text not null unique check (slug ~ '^[a-z][a-z0-9-]{1,39}$'),
  display_name  text not null,
  status        text not null default 'active' check (status in ('active', 'suspended')),
  declaration   jsonb not null,
  digest        text not null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

create table tenant_hosts (
  host       text primary key check (host = lower(host)),
  tenant_id  uuid not null references tenants (id) on delete cascade
);
create index tenant_hosts_tenant on tenant_hosts (tenant_id);

-- Tells every serve process to reload its registry (see src/tenancy/registry.ts).
create function notify_tenants_changed() returns trigger language plpgsql as $$
begin
  perform pg_notify('tenants_changed', '');
  return null;
end $$;
create trigger tenants_changed after insert or update or delete or truncate on tenants
  for each statement execute function notify_tenants_changed();
create trigger tenant_hosts_changed after insert or update or delete or truncate on tenant_hosts
  for each statement execute function notify_tenants_changed();

-- Logo, favicon and other branding files from tenants/<slug>/.
create table tenant_assets (
  tenant_id     uuid not null references tenants (id) on delete cascade,
  name          text not null check (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
  content_type  text not null,
  sha256        text not null,
  body          bytea not null,
  updated_at    timestamptz not null default now(),
  primary key (tenant_id, name)
);

create table people (
  tenant_id            uuid not null references tenants (id) on delete cascade,
  id                   uuid not null,
  -- eduPersonPrincipalName or the tenant's configured persistent identifier.
  external_id          text not null,
  display_name         text not null,
  given_name           text,
  family_name          text,
  mail                 text,
  affiliations         text[] not null default '{}',
  status               text not null default 'active' check (status in ('active', 'deactivated')),
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, external_id)
);

create table groups (
  tenant_id    uuid not null references tenants (id) on delete cascade,
  id           uuid not null,
  kind         text not null check (kind in ('institutional', 'workgroup', 'imported', 'dynamic')),
  name         text not null,
  description  text,
  created_at   timestamptz not null default now(),
  primary key (tenant_id, id)
);

create table group_members (
  tenant_id  uuid not null,
  group_id   uuid not null,
  person_id  uuid not null,
  role       text not null default 'member' check (role in ('owner', 'member')),
  primary key (tenant_id, group_id, person_id),
  foreign key (tenant_id, group_id) references groups (tenant_id, id) on delete cascade,
  foreign key (tenant_id, person_id) references people (tenant_id, id) on delete cascade
);
create index group_members_person on group_members (tenant_id, person_id);

-- Row-level security: the same policy on every tenant table.

alter table tenant_assets enable row level security;
alter table tenant_assets force row level security;
create policy tenant_isolation on tenant_assets
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table people enable row level security;
alter table people force row level security;
create policy tenant_isolation on people
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table groups enable row level security;
alter table groups force row level security;
create policy tenant_isolation on groups
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table group_members enable row level security;
alter table group_members force row level security;
create policy tenant_isolation on group_members
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
