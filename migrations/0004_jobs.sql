-- Jobs and mail: the record that makes mail delivery idempotent.
--
-- A mail.send job may run more than once (a retry after a timeout, a job put back after a
-- worker or Redis went away). Before talking to SMTP the job claims its key here; after the
-- server accepted the message it marks it sent. A run that finds the key sent does nothing, one
-- that finds a fresh claim (another run is sending right now) waits and retries. Kept in
-- PostgreSQL, not Redis, so a Redis restart cannot forget what was already sent.

create table mail_deliveries (
  tenant_id   uuid not null references tenants (id) on delete cascade,
  key         text not null check (length(key) between 1 and 300),
  message_id  text not null,
  status      text not null check (status in ('sending', 'sent')),
  -- The run that holds the claim; a claim older than the lease belongs to a run that died.
  claim       uuid,
  claimed_at  timestamptz not null default now(),
  sent_at     timestamptz,
  primary key (tenant_id, key)
);
create index mail_deliveries_sent on mail_deliveries (tenant_id, sent_at);

alter table mail_deliveries enable row level security;
alter table mail_deliveries force row level security;
create policy tenant_isolation on mail_deliveries
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
