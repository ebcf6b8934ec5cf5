-- A CSV import run reads its stored file a slice at a time (substring of body, 48 KiB a
-- statement: src/directory/imports.ts), so the worker never holds a whole file of up to 40 MB.
-- A compressed value is decompressed from its start for every slice, which makes reading it
-- quadratic in its size; stored uncompressed, a slice reads only the TOAST chunks it needs. The
-- files are kept until their run succeeds; new files are stored this way, earlier ones stay
-- compressed and are still read, more slowly.
alter table directory_import_files alter column body set storage external;

-- After a run that changed many people, the import job brings the planner statistics of people
-- and of the white pages' word tables (0014, 0026) up to date at once, rather than when
-- autovacuum next passes (0027). ANALYZE is for a table's owner and the application role owns
-- nothing: this function, run as its owner, analyzes these three tables and nothing else, and
-- returns nothing, so no tenant's rows are read back through it.
create function directory_analyze_words() returns void
  language plpgsql security definer set search_path = pg_catalog, public
as $$
begin
  analyze public.people, public.people_search_terms, public.directory_terms;
end $$;
