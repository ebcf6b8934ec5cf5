-- The operator console's audit trail: every operator action (sign-in, suspend, resume, retry of
-- a failed job), who did it, when, on which tenant, from which address, with the request id.
--
-- Platform data, not tenant data: the operator acts across tenants, and a tenant never reads
-- this table (no tenant route reads it). tenant_id names the tenant acted on (null for a
-- sign-in); it carries no foreign key, so the trail outlives a purged tenant, and the slug is
-- kept beside it for the same reason. No RLS: only the operator console reads it, through
-- src/operator/audit.ts.
--
-- Append-only for the application: `migrate` grants the application role SELECT and INSERT on
-- this table and nothing else (src/platform/migrate.ts, APPEND_ONLY_FOR_APP).
create table operator_audit (
  id           uuid primary key,
  at           timestamptz not null default now(),
  -- The operator's identifier (eduPersonPrincipalName from the operator IdP) and name then.
  actor        text not null check (length(actor) between 1 and 500),
  actor_name   text not null,
  action       text not null check (action in ('sign-in', 'suspend', 'resume', 'retry-job')),
  tenant_id    uuid,
  tenant_slug  text,
  -- What else identifies the action (the job's lane, id and name for a retry).
  detail       jsonb not null default '{}',
  ip           text not null,
  request_id   text not null
);
create index operator_audit_at on operator_audit (at desc, id desc);
create index operator_audit_tenant on operator_audit (tenant_id, at desc);
