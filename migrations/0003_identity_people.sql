-- Identity: what just-in-time provisioning keeps about a person (src/identity/provisioning.ts).
-- people is already a tenant table (0001): tenant_id leads its keys and RLS is forced; these
-- columns add no key and no index, so the isolation rule is untouched.

alter table people
  -- The NameID and the IdP of the last login: single logout and support need them.
  add column name_id        text,
  add column idp_entity_id  text,
  -- Every mapped attribute of the last login (Portique name -> values), for features that read
  -- more than the columns above (supannEtuId, eduPersonEntitlement, ...).
  add column attributes     jsonb not null default '{}',
  -- Roles derived at the last login (src/identity/roles.ts). Never an operator right: those
  -- come from the operator's own IdP and live only in operator sessions.
  add column roles          text[] not null default '{}'
    check (roles <@ array['student', 'teacher', 'staff', 'alumni', 'admin']),
  add column last_login_at  timestamptz;
