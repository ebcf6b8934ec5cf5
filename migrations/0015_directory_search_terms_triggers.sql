-- White pages words, the write side (0014's, measured): a foreign key's check is a plan cached
-- per connection; made while people was still small (a new tenant's first import), it stayed a
-- sequential scan of people for every word written, and a 5,000-person import took 25 s instead
-- of 3. So people_search_terms has no foreign key: the triggers remove a person's words with
-- them (delete trigger), and insert and update read the statement's transition tables, not
-- people again.
alter table people_search_terms drop constraint people_search_terms_tenant_id_person_id_fkey;

drop trigger people_search_terms_inserted on people;
drop trigger people_search_terms_updated on people;
drop function people_search_terms_inserted();
drop function people_search_terms_updated();
drop function people_search_terms_write(uuid[]);

-- Statement triggers: an import writes 500 people per statement, and their words go in as one
-- insert. They run as the writer of people under its tenant setting, so the policies let them
-- write that tenant's rows only.
create function people_search_terms_inserted() returns trigger language plpgsql as $$
begin
  insert into people_search_terms (tenant_id, term, person_id, name_key, visible)
    select distinct n.tenant_id, w.term, n.id, n.name_key, n.status = 'active' and not n.red_list
    from new_rows n, directory_terms_of(n.search_text) w(term);
  insert into directory_terms (tenant_id, term)
    select distinct n.tenant_id, w.term from new_rows n, directory_terms_of(n.search_text) w(term)
    where w.term !~ '^[[:digit:]]+$'
    on conflict do nothing;
  return null;
end $$;

-- The people whose searched fields changed in an update, as rows of the statement's transition tables.
create function people_search_terms_updated() returns trigger language plpgsql as $$
begin
  -- Most updates (a login's last_login_at) change nothing searched: nothing written then.
  if not exists (select from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
                 where n.search_text is distinct from o.search_text or n.name_key is distinct from o.name_key
                    or n.status is distinct from o.status or n.red_list is distinct from o.red_list) then
    return null;
  end if;
  delete from people_search_terms s
    using new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
    where s.tenant_id = n.tenant_id and s.person_id = n.id
      and (n.search_text is distinct from o.search_text or n.name_key is distinct from o.name_key
           or n.status is distinct from o.status or n.red_list is distinct from o.red_list);
  insert into people_search_terms (tenant_id, term, person_id, name_key, visible)
    select distinct n.tenant_id, w.term, n.id, n.name_key, n.status = 'active' and not n.red_list
    from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id, directory_terms_of(n.search_text) w(term)
    where n.search_text is distinct from o.search_text or n.name_key is distinct from o.name_key
       or n.status is distinct from o.status or n.red_list is distinct from o.red_list;
  insert into directory_terms (tenant_id, term)
    select distinct n.tenant_id, w.term
    from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id, directory_terms_of(n.search_text) w(term)
    where n.search_text is distinct from o.search_text and w.term !~ '^[[:digit:]]+$'
    on conflict do nothing;
  return null;
end $$;

create function people_search_terms_deleted() returns trigger language plpgsql as $$
begin
  delete from people_search_terms s using old_rows o where s.tenant_id = o.tenant_id and s.person_id = o.id;
  return null;
end $$;

create trigger people_search_terms_inserted after insert on people
  referencing new table as new_rows for each statement execute function people_search_terms_inserted();
create trigger people_search_terms_updated after update on people
  referencing old table as old_rows new table as new_rows for each statement execute function people_search_terms_updated();
create trigger people_search_terms_deleted after delete on people
  referencing old table as old_rows for each statement execute function people_search_terms_deleted();

