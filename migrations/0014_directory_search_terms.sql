-- White pages search, take three (bench/directory.ts): the GiST nearest-neighbour scan of 0009/0010
-- over every person's whole search text cost 40-65 ms at 200,000 people, because row-level
-- security keeps pg_trgm's operators (not LEAKPROOF) out of index conditions, so the scan can
-- only order, never filter. What index conditions can use under RLS are the leakproof btree
-- comparisons (=, <, >=). So the search text is cut into words, kept in a table of their own:
--   people_search_terms: one row per word of a person. Indexed by (tenant_id, term, name_key),
--     so the first people of one word in name order are the first entries of its range, read
--     from the index alone (person and visibility included), however many people share it;
--   directory_terms: the tenant's vocabulary of words of letters, a few thousand where people
--     are hundreds of thousands; prefixes and typos are looked up there (btree range, GiST
--     nearest neighbours with tenant_id first), and the words found, then, in the first table.
-- Both are tenant tables like any other: tenant_id leads every key, RLS enabled and forced.
-- "C" collation: byte order, so `term >= 'dup' and term < 'duq'` is exactly the prefix.

create table people_search_terms (
  tenant_id  uuid not null,
  term       text collate "C" not null,
  person_id  uuid not null,
  -- Copies of the person's sort key and of "active and not red-listed", so that a search is
  -- answered from the index alone; kept by the triggers below.
  name_key   text collate "C" not null,
  visible    boolean not null,
  -- A person's words: rewriting them, and checking a query's other words on one candidate.
  primary key (tenant_id, person_id, term),
  foreign key (tenant_id, person_id) references people (tenant_id, id) on delete cascade
);
create index people_search_terms_term on people_search_terms (tenant_id, term, name_key) include (person_id, visible);

-- Numbers (from mail addresses) stay out: they are as many as people, and a typo in one is not
-- forgiven anyway. Words are never removed from the vocabulary when the last person holding them goes: a word
-- nobody holds only makes a typo lookup try one more equality that finds nothing.
create table directory_terms (
  tenant_id  uuid not null references tenants (id) on delete cascade,
  term       text collate "C" not null,
  primary key (tenant_id, term)
);
create index directory_terms_trgm on directory_terms using gist (tenant_id, term gist_trgm_ops);

alter table people_search_terms enable row level security;
alter table people_search_terms force row level security;
create policy tenant_isolation on people_search_terms
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

alter table directory_terms enable row level security;
alter table directory_terms force row level security;
create policy tenant_isolation on directory_terms
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- The words of a normalised search text: runs of letters, runs of digits (so a mail's
-- "dupont123" is "dupont" and "123", and "dupont" finds it). src/directory/repository.ts cuts
-- queries the same way.
create function directory_terms_of(search_text text) returns setof text
  language sql immutable parallel safe strict
  as $$ select m[1] from regexp_matches(search_text, '([[:alpha:]]+|[[:digit:]]+)', 'g') m $$;

-- Statement triggers with transition tables: an import writes 2,000 people per statement, and
-- their words go in as one insert, not 2,000. They run as the writer of people under its tenant
-- setting, so the policies above let them write that tenant's rows only.
create function people_search_terms_write(changed_ids uuid[]) returns void language sql as $$
  delete from people_search_terms s
    using people p
    where p.id = any(changed_ids) and s.tenant_id = p.tenant_id and s.person_id = p.id;
  insert into people_search_terms (tenant_id, term, person_id, name_key, visible)
    select distinct p.tenant_id, w.term, p.id, p.name_key, p.status = 'active' and not p.red_list
    from people p, directory_terms_of(p.search_text) w(term)
    where p.id = any(changed_ids);
  insert into directory_terms (tenant_id, term)
    select distinct p.tenant_id, w.term
    from people p, directory_terms_of(p.search_text) w(term)
    where p.id = any(changed_ids) and w.term !~ '^[[:digit:]]+$'
    on conflict do nothing;
$$;

create function people_search_terms_inserted() returns trigger language plpgsql as $$
begin
  perform people_search_terms_write(array(select id from new_rows));
  return null;
end $$;

create function people_search_terms_updated() returns trigger language plpgsql as $$
begin
  -- Most updates (a login's last_login_at) change nothing searched: no write at all then.
  perform people_search_terms_write(array(
    select n.id from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.id = n.id
    where n.search_text is distinct from o.search_text or n.name_key is distinct from o.name_key
       or n.status is distinct from o.status or n.red_list is distinct from o.red_list));
  return null;
end $$;

create trigger people_search_terms_inserted after insert on people
  referencing new table as new_rows for each statement execute function people_search_terms_inserted();
create trigger people_search_terms_updated after update on people
  referencing old table as old_rows new table as new_rows for each statement execute function people_search_terms_updated();

-- Today's people, tenant by tenant (row-level security is forced on the owner too).
do $$
declare t uuid;
begin
  for t in select id from tenants loop
    perform set_config('app.tenant_id', t::text, true);
    perform people_search_terms_write(array(select id from people where tenant_id = t));
  end loop;
  perform set_config('app.tenant_id', '', true);
end $$;

-- The nearest-neighbour index over whole search texts is no longer read; it only slowed writes.
drop index people_search;
