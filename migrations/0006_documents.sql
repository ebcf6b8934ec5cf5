-- Documents ("Mes documents"): folders and files in a space (a person's, later a group's), their
-- versions (each one S3 object), the trash, shares, public links, and the quota bookkeeping.
--
-- Isolation as everywhere (DESIGN.md): tenant_id leads every key and index, RLS forced with the
-- one fail-closed policy. File content lives in S3 under tenantKey(tenant, 'documents', version);
-- the name a person gives is only ever a column here, never part of an object key.

-- A folder or a file. space_id is whose space it sits in (the owner's person id for a personal
-- space, the group's id for a group space): quotas and name uniqueness are per space.
create table document_nodes (
  tenant_id           uuid not null references tenants (id) on delete cascade,
  id                  uuid not null,
  space_id            uuid not null,
  owner_id            uuid not null,
  group_id            uuid,
  parent_id           uuid,
  kind                text not null check (kind in ('folder', 'file')),
  -- Neutralised by src/documents/names.ts (NFC, no separator, control or bidi character).
  name                text not null check (length(name) between 1 and 255 and name !~ '[/\\[:cntrl:]]'),
  -- Files: the current version's size and type; folders: 0 and null.
  size                bigint not null default 0 check (size >= 0),
  content_type        text,
  current_version_id  uuid,
  -- Trash: deleted_at is set on the node trashed and on everything under it, trashed_root only
  -- on the node the person deleted (what the trash page lists and restores).
  deleted_at          timestamptz,
  trashed_root        boolean not null default false,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, owner_id) references people (tenant_id, id) on delete cascade,
  foreign key (tenant_id, group_id) references groups (tenant_id, id) on delete cascade,
  foreign key (tenant_id, parent_id) references document_nodes (tenant_id, id) on delete cascade,
  check ((group_id is null and space_id = owner_id) or group_id = space_id),
  check ((kind = 'folder') = (current_version_id is null))
);
-- One live name per folder, case-insensitively (a root folder is keyed by its space).
create unique index document_nodes_name on document_nodes (tenant_id, space_id, coalesce(parent_id, space_id), lower(name))
  where deleted_at is null;
create index document_nodes_parent on document_nodes (tenant_id, parent_id);
create index document_nodes_space on document_nodes (tenant_id, space_id, deleted_at);

-- Every stored content of a file: the current one and the previous ones kept (last N).
create table document_versions (
  tenant_id     uuid not null references tenants (id) on delete cascade,
  id            uuid not null,
  node_id       uuid not null,
  object_key    text not null,
  size          bigint not null check (size >= 0),
  content_type  text not null,
  sha256        text not null,
  created_by    uuid,
  created_at    timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, object_key),
  foreign key (tenant_id, node_id) references document_nodes (tenant_id, id) on delete cascade,
  foreign key (tenant_id, created_by) references people (tenant_id, id) on delete set null (created_by)
);
create index document_versions_node on document_versions (tenant_id, node_id, created_at);

alter table document_nodes add foreign key (tenant_id, current_version_id)
  references document_versions (tenant_id, id) deferrable initially deferred;

-- Bytes used and reserved per space, and for the whole tenant (space_id = tenant_id). Uploads
-- reserve with one conditional UPDATE per row (used + reserved + n <= limit): the row lock makes
-- concurrent reservations queue and re-check, so the sum never passes the limit.
create table document_usage (
  tenant_id  uuid not null references tenants (id) on delete cascade,
  space_id   uuid not null,
  used       bigint not null default 0 check (used >= 0),
  reserved   bigint not null default 0 check (reserved >= 0),
  primary key (tenant_id, space_id)
);

-- One row per upload in flight: what it holds in document_usage.reserved, so a crashed process's
-- reservations can be found and given back.
create table document_reservations (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  id          uuid not null,
  space_id    uuid not null,
  bytes       bigint not null check (bytes >= 0),
  created_at  timestamptz not null default now(),
  primary key (tenant_id, id)
);

-- A node shared with a person or a group, read or read-write.
create table document_shares (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  id          uuid not null,
  node_id     uuid not null,
  person_id   uuid,
  group_id    uuid,
  access      text not null check (access in ('read', 'write')),
  created_by  uuid not null,
  created_at  timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, node_id) references document_nodes (tenant_id, id) on delete cascade,
  foreign key (tenant_id, person_id) references people (tenant_id, id) on delete cascade,
  foreign key (tenant_id, group_id) references groups (tenant_id, id) on delete cascade,
  foreign key (tenant_id, created_by) references people (tenant_id, id) on delete cascade,
  check ((person_id is null) <> (group_id is null))
);
create index document_shares_node on document_shares (tenant_id, node_id);
create index document_shares_person on document_shares (tenant_id, person_id);
create index document_shares_group on document_shares (tenant_id, group_id);

-- Public links: only the token's SHA-256 is stored; the token itself is shown once.
create table document_links (
  tenant_id      uuid not null references tenants (id) on delete cascade,
  id             uuid not null,
  node_id        uuid not null,
  token_sha256   text not null,
  password_hash  text,
  expires_at     timestamptz,
  revoked_at     timestamptz,
  downloads      integer not null default 0,
  created_by     uuid not null,
  created_at     timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, token_sha256),
  foreign key (tenant_id, node_id) references document_nodes (tenant_id, id) on delete cascade,
  foreign key (tenant_id, created_by) references people (tenant_id, id) on delete cascade
);
create index document_links_node on document_links (tenant_id, node_id);

alter table document_nodes enable row level security;
alter table document_nodes force row level security;
create policy tenant_isolation on document_nodes
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table document_versions enable row level security;
alter table document_versions force row level security;
create policy tenant_isolation on document_versions
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table document_usage enable row level security;
alter table document_usage force row level security;
create policy tenant_isolation on document_usage
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table document_reservations enable row level security;
alter table document_reservations force row level security;
create policy tenant_isolation on document_reservations
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table document_shares enable row level security;
alter table document_shares force row level security;
create policy tenant_isolation on document_shares
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table document_links enable row level security;
alter table document_links force row level security;
create policy tenant_isolation on document_links
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
