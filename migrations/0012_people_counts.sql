-- How many active people each tenant has, kept by a trigger, so that enforcing quotas.people at a
-- first login costs one row lock instead of counting the whole university.

create table people_counts (
  tenant_id  uuid primary key references tenants (id) on delete cascade,
  active     integer not null default 0 check (active >= 0)
);

alter table people_counts enable row level security;
alter table people_counts force row level security;
create policy tenant_isolation on people_counts
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Runs as the writer of people (the application), under the same tenant setting: it can only
-- count into its own tenant's row.
create function people_counts_follow() returns trigger language plpgsql as $$
declare
  delta integer := 0;
  tenant uuid;
begin
  if tg_op in ('INSERT', 'UPDATE') and new.status = 'active' then delta := delta + 1; end if;
  if tg_op in ('UPDATE', 'DELETE') and old.status = 'active' then delta := delta - 1; end if;
  if delta = 0 then return null; end if;
  tenant := coalesce(new.tenant_id, old.tenant_id);
  -- A tenant being deleted takes its people and its count with it.
  if not exists (select from tenants where id = tenant) then return null; end if;
  insert into people_counts as c (tenant_id, active) values (tenant, greatest(delta, 0))
    on conflict (tenant_id) do update set active = c.active + delta;
  return null;
end $$;

create trigger people_counts_follow after insert or update of status or delete on people
  for each row execute function people_counts_follow();

-- Today's counts, tenant by tenant (row-level security is forced, for the owner too).
do $$
declare t uuid;
begin
  for t in select id from tenants loop
    perform set_config('app.tenant_id', t::text, true);
    insert into people_counts (tenant_id, active)
      select t, count(*) from people where tenant_id = t and status = 'active';
  end loop;
  perform set_config('app.tenant_id', '', true);
end $$;
