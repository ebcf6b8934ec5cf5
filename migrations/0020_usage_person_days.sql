-- Usage counted per person and day instead of one row per event (or per second of events, 0013):
-- the recorder adds its in-memory counts to one row per (day, person, service, event), so a
-- person's day of use is a handful of rows however many pages they open, a flush updates rows
-- rather than inserting new ones, and the daily roll-up reads that handful. What it gives up: the
-- time of day of each event, which no report shows.
--
-- day is the day in Europe/Paris (the region's days, as the roll-ups count them). person_id is
-- the nil UUID for anonymous visitors: a key column cannot be null, and no person has that id.
create table usage_person_days (
  tenant_id  uuid not null references tenants (id) on delete cascade,
  day        date not null,
  person_id  uuid not null,
  service    text not null check (service ~ '^[a-z][a-z0-9-]{0,39}$'),
  event      text not null check (event ~ '^[a-z][a-z0-9.-]{0,39}$'),
  count      bigint not null check (count >= 1),
  primary key (tenant_id, day, person_id, service, event)
);

alter table usage_person_days enable row level security;
alter table usage_person_days force row level security;
create policy tenant_isolation on usage_person_days
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- The raw events recorded so far, moved over tenant by tenant (row-level security is forced, for
-- the owner too). usage_events stays, empty, for now: nothing writes to it any more.
do $$
declare t uuid;
begin
  for t in select id from tenants loop
    perform set_config('app.tenant_id', t::text, true);
    insert into usage_person_days (tenant_id, day, person_id, service, event, count)
      select tenant_id, (occurred_at at time zone 'Europe/Paris')::date,
             coalesce(person_id, '00000000-0000-0000-0000-000000000000'), service, event, sum(count)
      from usage_events where tenant_id = t
      group by 1, 2, 3, 4, 5;
    delete from usage_events where tenant_id = t;
  end loop;
  perform set_config('app.tenant_id', '', true);
end $$;
