-- The certificates that sign the metadata of IdPs declared by metadataUrl (a federation's
-- aggregate), copied from tenants/<slug>/ by `tenants apply` as the metadata files of other IdPs
-- are (saml_idp_metadata), so the saml.refresh-metadata job, in any worker replica, checks a
-- fetched document without a tenants/ folder. Tenant data: same isolation rule as 0001.
create table saml_metadata_signers (
  tenant_id     uuid not null references tenants (id) on delete cascade,
  entity_id     text not null,
  -- The URL these certificates are trusted for: a declaration that moves the IdP to another URL
  -- needs its certificates applied again.
  metadata_url  text not null,
  -- One or more PEM certificates (rollover): any of them may sign.
  certificates  text not null,
  primary key (tenant_id, entity_id)
);

alter table saml_metadata_signers enable row level security;
alter table saml_metadata_signers force row level security;
create policy tenant_isolation on saml_metadata_signers
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
