-- Virus scan verdicts (src/documents/scan.ts), per content: keyed by the content's SHA-256, so a
-- copy, a re-upload or a restored version of an infected file is quarantined with it, and
-- content already scanned is not sent to clamd again.
--
-- No row: never scanned (the scan was off when it was stored): served as before.
-- pending: stored while the scan is on, verdict to come: served (with an x-virus-scan: pending
-- header), see scan.ts for why it is not held.
-- infected: quarantined: not downloadable, not shareable, by anyone, on any path.
-- unscanned: clamd refused it (larger than its StreamMaxLength): served, with the header saying so.
create table document_scans (
  tenant_id    uuid not null references tenants (id) on delete cascade,
  sha256       text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  status       text not null check (status in ('pending', 'clean', 'infected', 'unscanned')),
  -- infected: clamd's name for what it found (e.g. Eicar-Test-Signature); unscanned: why.
  finding      text check ((status in ('infected', 'unscanned')) = (finding is not null)),
  -- The version that was sent to clamd (any version with this content would do).
  version_id   uuid not null,
  created_at   timestamptz not null default now(),
  scanned_at   timestamptz,
  primary key (tenant_id, sha256)
);
create index document_scans_pending on document_scans (tenant_id, created_at) where status = 'pending';

alter table document_scans enable row level security;
alter table document_scans force row level security;
create policy tenant_isolation on document_scans
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
