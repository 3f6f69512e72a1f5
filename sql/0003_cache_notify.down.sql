-- 0003_cache_notify (down): drops the triggers and the function of
-- 0003_cache_notify.up.sql. Servers still running then see no writes made
-- elsewhere: run them with RESPONSE_CACHE_BYTES=0, or restart them on the
-- older version.
--
-- Run by the migration runner inside a single transaction: no BEGIN/COMMIT here.

DROP TRIGGER IF EXISTS friends_cache_notify ON friends;
DROP TRIGGER IF EXISTS skills_cache_notify ON skills;
DROP TRIGGER IF EXISTS users_cache_notify ON users;
DROP TRIGGER IF EXISTS profiles_cache_notify ON profiles;
DROP TRIGGER IF EXISTS reviews_cache_notify ON reviews;
DROP TRIGGER IF EXISTS tags_cache_notify ON tags;
DROP TRIGGER IF EXISTS project_tags_cache_notify ON project_tags;
DROP TRIGGER IF EXISTS projects_cache_notify ON projects;
DROP FUNCTION IF EXISTS cache_notify();
