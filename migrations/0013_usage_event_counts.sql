-- A usage_events row may stand for several identical events of one flush (same person, event
-- and service within about a second): the recorder writes one row with their count, so a busy
-- page costs PostgreSQL one row per second, not one per view.
alter table usage_events add column count integer not null default 1 check (count >= 1);
