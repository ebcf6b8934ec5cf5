-- White pages, several words (bench/directory.ts): 0014 found the people holding each extra word
-- by reading and hashing all of them (10,000+ index entries for a common given name), so two-word
-- queries cost 20-70 ms. Now each vocabulary word knows how many people hold it, so a search
-- walks the rarer word of a pair in name order and checks the other on each candidate by an
-- index probe (src/directory/repository.ts). The count only chooses which word drives: a stale
-- count makes a search slower, never different.
alter table directory_terms add column people integer not null default 0;

-- A word's people in the order a search ranks them (name, then id), so that the first of them
-- who also hold the other words are the first entries of the range that pass the probes, with no
-- sort: 0014's index kept person_id as an included column, and a sort on it read the whole range.
drop index people_search_terms_term;
create index people_search_terms_term on people_search_terms (tenant_id, term, name_key, person_id) include (visible);

-- Kept by statement triggers on people_search_terms (rows are only ever inserted and deleted:
-- 0015 rewrites a person's words as delete then insert), one grouped write per statement.
-- Numbers are not in the vocabulary and are not counted. Run as the writer under its tenant
-- setting, so the policies of 0014 let them touch that tenant's words only.
create function directory_terms_counted_in() returns trigger language plpgsql as $$
begin
  insert into directory_terms as d (tenant_id, term, people)
    select n.tenant_id, n.term, count(*) from new_rows n
    where n.term !~ '^[[:digit:]]+$'
    group by n.tenant_id, n.term order by n.tenant_id, n.term
    on conflict (tenant_id, term) do update set people = d.people + excluded.people;
  return null;
end $$;

create function directory_terms_counted_out() returns trigger language plpgsql as $$
begin
  update directory_terms d set people = greatest(0, d.people - o.n)
    from (select tenant_id, term, count(*)::int as n from old_rows group by tenant_id, term) o
    where d.tenant_id = o.tenant_id and d.term = o.term;
  return null;
end $$;

create trigger directory_terms_counted_in after insert on people_search_terms
  referencing new table as new_rows for each statement execute function directory_terms_counted_in();
create trigger directory_terms_counted_out after delete on people_search_terms
  referencing old table as old_rows for each statement execute function directory_terms_counted_out();

-- Today's counts, tenant by tenant (row-level security is forced on the owner too).
do $$
declare t uuid;
begin
  for t in select id from tenants loop
    perform set_config('app.tenant_id', t::text, true);
    update directory_terms d set people = c.n
      from (select term, count(*)::int as n from people_search_terms where tenant_id = t group by term) c
      where d.tenant_id = t and d.term = c.term;
  end loop;
  perform set_config('app.tenant_id', '', true);
end $$;
