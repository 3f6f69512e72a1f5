-- 0002_projects_search: backwards; undoes exactly what 0002_projects_search.up.sql does.
ALTER INDEX projects_title_trgm_idx RESET (fastupdate);
ALTER INDEX projects_description_trgm_idx RESET (fastupdate);
ALTER INDEX tags_name_trgm_idx RESET (fastupdate);
