-- White pages search, take two (bench/directory.ts): 0005 indexed expressions, so each matching
-- row paid unaccent() again at query time and ranking sorted every match (400 ms at 20,000
-- people). The normalised text is now stored, kept by a trigger (a generated column would make
-- plain row copies fail, see test/platform/isolation.test.ts), and a GiST trigram index ranks
-- by word similarity as a nearest-neighbour scan (ORDER BY ... <<-> ... LIMIT), which GIN cannot.
-- btree_gist puts tenant_id first in that index; like btree_gin, it is a trusted extension.
create extension if not exists btree_gist;

alter table people
  add column search_text  text not null default '',
  add column name_key     text not null default '';

create function people_search_fields() returns trigger language plpgsql as $$
begin
  new.search_text := directory_search_text(new.given_name, new.family_name, new.display_name, new.mail, new.affectation);
  new.name_key := directory_name_key(new.family_name, new.display_name, new.given_name);
  return new;
end $$;
create trigger people_search_fields before insert or update of given_name, family_name, display_name, mail, affectation, search_text, name_key
  on people for each row execute function people_search_fields();

-- Row-level security is forced on the owner too: fill each tenant's rows under its own setting.
do $$
declare t uuid;
begin
  for t in select id from tenants loop
    perform set_config('app.tenant_id', t::text, true);
    update people set search_text = '' where tenant_id = t;
  end loop;
  perform set_config('app.tenant_id', '', true);
end $$;

drop index people_search;
drop index people_name_key;
create index people_search on people using gist (tenant_id, search_text gist_trgm_ops);
create index people_name_key on people (tenant_id, name_key text_pattern_ops);
