-- Documents reconciliation (src/documents/reconcile.ts): what each run found and did, kept for
-- the tenant's administrators (/admin/documents/controles) and the operator.
--
-- One row per run and tenant. The lists are jsonb because they are only ever shown as a whole
-- (capped by the job at 1,000 entries each, with the full counts beside them).
create table document_reconciliations (
  tenant_id               uuid not null references tenants (id) on delete cascade,
  id                      uuid not null,
  bucket                  text not null,
  started_at              timestamptz not null,
  finished_at             timestamptz not null default now(),
  objects_listed          bigint not null default 0,
  versions_listed         bigint not null default 0,
  -- Objects under the tenant's documents prefix with no document_versions row, older than the
  -- grace period: [{key, size, lastModified}], each removed after being recorded here.
  orphan_objects          jsonb not null default '[]',
  orphan_objects_count    integer not null default 0,
  orphan_bytes            bigint not null default 0,
  -- Versions whose object is gone: [{versionId, nodeId, name, size, ownerId, outcome}], where
  -- outcome says what was done (older version dropped, previous version made current, file removed).
  missing_objects         jsonb not null default '[]',
  missing_objects_count   integer not null default 0,
  -- Reservations of uploads that never finished (a crashed process), given back to the quotas.
  reservations_released   integer not null default 0,
  reserved_bytes_released bigint not null default 0,
  primary key (tenant_id, id)
);
create index document_reconciliations_recent on document_reconciliations (tenant_id, started_at desc);

alter table document_reconciliations enable row level security;
alter table document_reconciliations force row level security;
create policy tenant_isolation on document_reconciliations
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
