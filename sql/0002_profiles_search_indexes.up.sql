-- 0002_profiles_search_indexes: forwards.
-- Runs in one transaction with its bookkeeping: no BEGIN/COMMIT here.
--
-- The developer search (GET /api/profiles?search=) reads three GIN trigram
-- indexes. With GIN's fast update on, new entries wait in a pending list that
-- every search scans linearly until a VACUUM (or autoanalyze) merges it, and
-- the planner, seeing that list, prefers reading the whole table. Profiles and
-- skills are written rarely and searched often: write their entries into the
-- index proper, and merge what is pending now.
ALTER INDEX profiles_name_trgm_idx        SET (fastupdate = off);
ALTER INDEX profiles_short_intro_trgm_idx SET (fastupdate = off);
ALTER INDEX skills_name_trgm_idx          SET (fastupdate = off);

SELECT gin_clean_pending_list('profiles_name_trgm_idx'::regclass),
       gin_clean_pending_list('profiles_short_intro_trgm_idx'::regclass),
       gin_clean_pending_list('skills_name_trgm_idx'::regclass);
