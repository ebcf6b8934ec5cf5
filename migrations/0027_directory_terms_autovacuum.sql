-- The word tables of the white pages (0014, 0026) churn in bursts: an import rewrites the per-word
-- counts of directory_terms in every batch and deletes and inserts words of people it changes.
-- Searches walk the word indexes in order, so dead rows left by a burst are walked too: measured
-- on 200,000 people after a 100,000-line import, searches took 20-80 ms until these tables were
-- vacuumed, 1-8 ms after. With the default scale factor (20 % of the table) autovacuum waits too
-- long on tables this size; these thresholds let it follow an import within a minute or so.
alter table directory_terms set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
alter table people_search_terms set (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 5000, autovacuum_analyze_scale_factor = 0.02);
