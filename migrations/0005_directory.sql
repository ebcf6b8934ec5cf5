-- Directory: the white pages (SUPANN fields, search), groups of every kind, and import runs.
--
-- people, groups and group_members are tenant tables already (0001); what is added here keeps
-- the isolation rule: tenant_id leads every new key and index, and every new table has RLS
-- enabled and forced with the one fail-closed policy.

-- btree_gin lets one GIN index hold (tenant_id, search_text): GIN cannot otherwise index a
-- uuid, and a trigram index that does not lead with tenant_id would mix every tenant's names in
-- one posting list. It is a trusted extension, so the owner role may create it.
create extension if not exists btree_gin;

-- unaccent() is only STABLE (its dictionary could change), so it cannot feed a generated column
-- or an index (nor can concat_ws, hence the || below). This wrapper names the dictionary explicitly and is declared IMMUTABLE: the
-- dictionary is part of the database we ship, and a change to it means a reindex anyway.
create function directory_normalize(value text) returns text
  language sql immutable parallel safe strict
  return lower(public.unaccent('public.unaccent'::regdictionary, value));

alter table people
  -- supannEntiteAffectation, as a label people read ("UFR Sciences, département Informatique").
  add column affectation      text,
  add column title            text,
  add column office_phone     text,
  -- Object storage key of the photo (src/platform/storage.ts), or null.
  add column photo_key        text,
  -- supannListeRouge: invisible in the white pages to everyone but the tenant's admins.
  add column red_list         boolean not null default false,
  -- What the person chose on their profile, where the declaration lets them.
  add column preferred_mail   text,
  add column phone_visible    boolean not null default true,
  -- Where the person comes from: login (JIT), csv or ldap. An import only deactivates people
  -- of its own source, so a guest who logged in is never deactivated by a CSV that omits them.
  add column source           text not null default 'login' check (source in ('login', 'csv', 'ldap', 'admin')),
  -- Roles an admin granted in Portique (tenant admin), kept across logins.
  add column granted_roles    text[] not null default '{}' check (granted_roles <@ array['admin']),
  add column deactivated_at   timestamptz;

-- What the white pages search in, and the name order. Expressions rather than generated
-- columns: a row copied from one table to another (and the isolation test's attacks) stays a
-- plain insert, and the queries (src/directory/repository.ts) call these same functions.
create function directory_search_text(given_name text, family_name text, display_name text, mail text, affectation text)
  returns text language sql immutable parallel safe
  return directory_normalize(
    coalesce(given_name, '') || ' ' || coalesce(family_name, '') || ' ' || coalesce(display_name, '') || ' '
    || coalesce(mail, '') || ' ' || coalesce(affectation, ''));

-- Family name then given name: the sort order, and the search on the first one or two letters.
create function directory_name_key(family_name text, display_name text, given_name text)
  returns text language sql immutable parallel safe
  return directory_normalize(coalesce(family_name, display_name, '') || ' ' || coalesce(given_name, ''));

-- Trigram search (substring, accent-free, typo-tolerant via word similarity), one tenant at a time.
create index people_search on people
  using gin (tenant_id, directory_search_text(given_name, family_name, display_name, mail, affectation) gin_trgm_ops);
-- Prefix search as you type the first letters, and the alphabetical listing.
create index people_name_key on people (tenant_id, directory_name_key(family_name, display_name, given_name) text_pattern_ops);
create index people_source_status on people (tenant_id, source, status);

alter table groups
  -- Imported groups: the code in the source (cohort, course, service); unique per tenant.
  add column source_key   text,
  -- Dynamic groups: {"all": [{"attribute": "affiliation", "values": ["student"]}, ...]}.
  add column rule         jsonb,
  add column created_by   uuid,
  add column updated_at   timestamptz not null default now(),
  add constraint groups_rule check ((kind = 'dynamic') = (rule is not null)),
  add constraint groups_created_by foreign key (tenant_id, created_by) references people (tenant_id, id) on delete set null (created_by);
create unique index groups_source_key on groups (tenant_id, source_key) where source_key is not null;
create index groups_kind_name on groups (tenant_id, kind, name);

create table group_invitations (
  tenant_id    uuid not null,
  group_id     uuid not null,
  person_id    uuid not null,
  invited_by   uuid,
  created_at   timestamptz not null default now(),
  primary key (tenant_id, group_id, person_id),
  foreign key (tenant_id, group_id) references groups (tenant_id, id) on delete cascade,
  foreign key (tenant_id, person_id) references people (tenant_id, id) on delete cascade,
  foreign key (tenant_id, invited_by) references people (tenant_id, id) on delete set null (invited_by)
);
create index group_invitations_person on group_invitations (tenant_id, person_id);

-- One import run (CSV or LDAP), dry or real, and its report. Kept for the admin pages.
create table directory_imports (
  tenant_id     uuid not null references tenants (id) on delete cascade,
  id            uuid not null,
  source        text not null check (source in ('csv', 'ldap')),
  dry_run       boolean not null,
  forced        boolean not null default false,
  status        text not null default 'queued'
                check (status in ('queued', 'running', 'succeeded', 'failed', 'needs_force')),
  file_name     text,
  requested_by  uuid,
  progress      integer not null default 0 check (progress between 0 and 100),
  -- {"create": n, "update": n, "deactivate": n, "reactivate": n, "unchanged": n, "lines": n, "bad": n}
  counts        jsonb not null default '{}',
  -- {"problems": [{"line": 3, "reason": "..."}], "changes": [{"action": "create", "id": "..."}]}
  report        jsonb not null default '{}',
  error         text,
  created_at    timestamptz not null default now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  primary key (tenant_id, id),
  foreign key (tenant_id, requested_by) references people (tenant_id, id) on delete set null (requested_by)
);
create index directory_imports_created on directory_imports (tenant_id, created_at desc);

-- The uploaded file of a CSV run, until the run is done (then removed: the report remains).
create table directory_import_files (
  tenant_id   uuid not null,
  import_id   uuid not null,
  body        bytea not null,
  primary key (tenant_id, import_id),
  foreign key (tenant_id, import_id) references directory_imports (tenant_id, id) on delete cascade
);

-- Incremental LDAP sync: the highest modifyTimestamp seen by the last successful run.
create table directory_sync_state (
  tenant_id       uuid not null references tenants (id) on delete cascade,
  source          text not null check (source in ('ldap')),
  high_water      text,
  last_full_at    timestamptz,
  updated_at      timestamptz not null default now(),
  primary key (tenant_id, source)
);

alter table group_invitations enable row level security;
alter table group_invitations force row level security;
create policy tenant_isolation on group_invitations
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table directory_imports enable row level security;
alter table directory_imports force row level security;
create policy tenant_isolation on directory_imports
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table directory_import_files enable row level security;
alter table directory_import_files force row level security;
create policy tenant_isolation on directory_import_files
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table directory_sync_state enable row level security;
alter table directory_sync_state force row level security;
create policy tenant_isolation on directory_sync_state
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
