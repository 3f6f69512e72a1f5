-- 0002_projects_search: forwards.
-- Runs in one transaction with its bookkeeping: no BEGIN/COMMIT here.
--
-- The project search (title, description, tag names) must always be served
-- by the trigram indexes. With GIN's fast update, new entries wait in a
-- pending list that every search scans linearly until (auto)vacuum merges
-- it; after a burst of inserts the planner rightly prefers a sequential scan
-- of projects. Projects and tags are written rarely and searched often, so
-- their trigram indexes take new entries directly.
ALTER INDEX projects_title_trgm_idx SET (fastupdate = off);
ALTER INDEX projects_description_trgm_idx SET (fastupdate = off);
ALTER INDEX tags_name_trgm_idx SET (fastupdate = off);
-- Entries already pending are merged now rather than at the next vacuum.
SELECT gin_clean_pending_list('projects_title_trgm_idx'::regclass),
       gin_clean_pending_list('projects_description_trgm_idx'::regclass),
       gin_clean_pending_list('tags_name_trgm_idx'::regclass);
