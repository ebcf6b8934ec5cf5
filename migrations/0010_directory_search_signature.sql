-- White pages search, the GiST signature: a person's search text holds some 40 trigrams (names,
-- mail, affectation), which saturate the default 12-byte signature of gist_trgm_ops, so a
-- nearest-neighbour scan could prune little and read most of a tenant's index. 256 bytes keeps
-- the signatures selective (bench/directory.ts: 30-45 ms -> 3-20 ms per search at 200,000 people).
drop index people_search;
create index people_search on people using gist (tenant_id, search_text gist_trgm_ops (siglen = 256));
