-- Offboarding a university (`portique tenants export` and `tenants purge`, src/tenancy/offboard.ts)
-- is an operator action like the others, so it goes to the operator's audit trail: 'export' records
-- where the export was written and its manifest's SHA-256 (a purge checks that export is still
-- there, unchanged), 'purge' what was deleted. The trail has no foreign key to tenants, so these
-- rows outlive the purged tenant (0007).
alter table operator_audit drop constraint operator_audit_action_check;
alter table operator_audit add constraint operator_audit_action_check
  check (action in ('sign-in', 'suspend', 'resume', 'retry-job', 'export', 'purge'));
