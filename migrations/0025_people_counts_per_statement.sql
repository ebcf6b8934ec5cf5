-- people_counts (0012) followed people row by row: an import of 100,000 people updated its
-- tenant's one row 100,000 times in one transaction, and each update walks the versions the
-- transaction left behind, so batches grew slower and slower (0.6 s to 3.6 s per 2,500 lines).
-- Now one update per statement and tenant, from the statement's transition tables. Transition
-- tables cannot be given with a column list (UPDATE OF status), so the update trigger sees every
-- update of people and changes nothing when no status changed.

drop trigger people_counts_follow on people;
drop function people_counts_follow();

-- Still runs as the writer of people, under its tenant setting: it can only count into its own
-- tenant's row.
create function people_counts_add(tenant uuid, delta integer) returns void language plpgsql as $$
begin
  if delta = 0 then return; end if;
  -- A tenant being deleted takes its people and its count with it.
  if not exists (select from tenants where id = tenant) then return; end if;
  insert into people_counts as c (tenant_id, active) values (tenant, greatest(delta, 0))
    on conflict (tenant_id) do update set active = c.active + delta;
end $$;

create function people_counts_follow_statement() returns trigger language plpgsql as $$
declare r record;
begin
  if tg_op = 'INSERT' then
    for r in select tenant_id, count(*)::integer as delta from new_rows where status = 'active' group by tenant_id order by tenant_id loop
      perform people_counts_add(r.tenant_id, r.delta);
    end loop;
  elsif tg_op = 'DELETE' then
    for r in select tenant_id, -count(*)::integer as delta from old_rows where status = 'active' group by tenant_id order by tenant_id loop
      perform people_counts_add(r.tenant_id, r.delta);
    end loop;
  else
    for r in
      select tenant_id, sum(delta)::integer as delta from (
        select tenant_id, 1 as delta from new_rows where status = 'active'
        union all
        select tenant_id, -1 from old_rows where status = 'active'
      ) changes group by tenant_id order by tenant_id
    loop
      perform people_counts_add(r.tenant_id, r.delta);
    end loop;
  end if;
  return null;
end $$;

create trigger people_counts_on_insert after insert on people
  referencing new table as new_rows for each statement execute function people_counts_follow_statement();
create trigger people_counts_on_update after update on people
  referencing old table as old_rows new table as new_rows for each statement execute function people_counts_follow_statement();
create trigger people_counts_on_delete after delete on people
  referencing old table as old_rows for each statement execute function people_counts_follow_statement();
