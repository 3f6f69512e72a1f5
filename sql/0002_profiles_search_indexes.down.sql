-- 0002_profiles_search_indexes: backwards; undoes exactly what 0002_profiles_search_indexes.up.sql does.
ALTER INDEX profiles_name_trgm_idx        RESET (fastupdate);
ALTER INDEX profiles_short_intro_trgm_idx RESET (fastupdate);
ALTER INDEX skills_name_trgm_idx          RESET (fastupdate);
