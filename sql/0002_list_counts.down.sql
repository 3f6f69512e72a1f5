-- 0002_list_counts: backwards; undoes exactly what 0002_list_counts.up.sql does.

DROP TRIGGER profiles_count_delete ON profiles;
DROP TRIGGER profiles_count_insert ON profiles;
DROP TRIGGER projects_count_delete ON projects;
DROP TRIGGER projects_count_insert ON projects;
DROP FUNCTION row_counts_bump();
DROP TABLE row_counts;
