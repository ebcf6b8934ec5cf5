-- In-app notifications (src/notifications/) and usage statistics (src/statistics/).
--
-- Every table is a tenant table: tenant_id first in every key and index, RLS enabled and forced,
-- the one fail-closed policy of 0001.

-- A notification for one person. read_at null = unread (the bell counts these, through the
-- partial index). digest_day: the day of the daily digest that carried it (null: not yet).
create table notifications (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  id          uuid not null,
  person_id   uuid not null,
  category    text not null check (category ~ '^[a-z][a-z0-9-]{0,39}$'),
  title       text not null check (length(title) between 1 and 200),
  body        text not null default '' check (length(body) <= 2000),
  -- A path on the tenant's host, never an absolute URL (no open redirect from a notification).
  link        text check (link ~ '^/[^/\\]' or link = '/'),
  created_at  timestamptz not null default now(),
  read_at     timestamptz,
  digest_day  date,
  primary key (tenant_id, id),
  foreign key (tenant_id, person_id) references people (tenant_id, id) on delete cascade
);
create index notifications_person on notifications (tenant_id, person_id, id desc);
create index notifications_unread on notifications (tenant_id, person_id) where read_at is null;

-- Per person and category: how a notification reaches them. No row: the category's default.
create table notification_preferences (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  person_id   uuid not null,
  category    text not null check (category ~ '^[a-z][a-z0-9-]{0,39}$'),
  delivery    text not null check (delivery in ('immediate', 'digest', 'in-app')),
  updated_at  timestamptz not null default now(),
  primary key (tenant_id, person_id, category),
  foreign key (tenant_id, person_id) references people (tenant_id, id) on delete cascade
);

-- Raw usage events, written in batches; deleted after the declaration's retention. person_id is
-- null for anonymous visitors; no foreign key, so a person's deletion does not wait on the purge.
create table usage_events (
  tenant_id    uuid not null references tenants (id) on delete cascade,
  id           uuid not null,
  occurred_at  timestamptz not null,
  person_id    uuid,
  event        text not null check (event ~ '^[a-z][a-z0-9.-]{0,39}$'),
  service      text not null check (service ~ '^[a-z][a-z0-9-]{0,39}$'),
  primary key (tenant_id, id)
);
create index usage_events_time on usage_events (tenant_id, occurred_at);

-- Aggregates, kept after the raw events are gone. '*' in service, affiliation or event is the
-- total over that dimension (CUBE): distinct people cannot be summed, so totals are rows too.
create table usage_daily (
  tenant_id    uuid not null references tenants (id) on delete cascade,
  day          date not null,
  service      text not null,
  affiliation  text not null,
  event        text not null,
  events       bigint not null,
  people       integer not null,
  primary key (tenant_id, day, service, affiliation, event)
);

create table usage_monthly (
  tenant_id    uuid not null references tenants (id) on delete cascade,
  month        date not null check (extract(day from month) = 1),
  service      text not null,
  affiliation  text not null,
  event        text not null,
  events       bigint not null,
  people       integer not null,
  primary key (tenant_id, month, service, affiliation, event)
);

alter table notifications enable row level security;
alter table notifications force row level security;
create policy tenant_isolation on notifications
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table notification_preferences enable row level security;
alter table notification_preferences force row level security;
create policy tenant_isolation on notification_preferences
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table usage_events enable row level security;
alter table usage_events force row level security;
create policy tenant_isolation on usage_events
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table usage_daily enable row level security;
alter table usage_daily force row level security;
create policy tenant_isolation on usage_daily
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table usage_monthly enable row level security;
alter table usage_monthly force row level security;
create policy tenant_isolation on usage_monthly
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
