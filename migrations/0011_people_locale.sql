-- The language a person chose in the portal (fr or en); mail sent to them uses it. Null: the
-- tenant's default language.
alter table people add column locale text check (locale in ('fr', 'en'));
