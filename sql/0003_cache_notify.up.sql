-- 0003_cache_notify (up): tell every server when data shown by a cached answer
-- changes. The servers keep anonymous answers of GET /api/projects[/{id}],
-- /api/profiles[/{id}] and /api/tags in memory (RESPONSE_CACHE_BYTES); each
-- one LISTENs on the channel devsearch_cache and drops its whole cache when a
-- notification arrives. Writes through the API, by another server, by seed or
-- by hand in psql are all seen.
--
-- Run by the migration runner inside a single transaction: no BEGIN/COMMIT here.
--
-- Statement-level triggers: one notification per statement, not per row, and
-- PostgreSQL folds identical notifications of one transaction into one, sent
-- only if it commits. A rolled-back write notifies nobody.
--
-- The tables are those the serializers read for those answers:
--   projects      the project; its vote counters (kept by the reviews trigger)
--   project_tags  a project's tags, a tag's project_count
--   tags          tag names (projects' tags and the tag list)
--   reviews       a project's reviews
--   profiles      a profile; a project's owner and a review's author
--                 (name, profile_image); favorite_note is a column here,
--                 cleared by a foreign key action when the note goes
--   users         username (profiles, owners, authors, friends) and email
--   skills        a profile's skills, and what profile search matches
--   friends       a profile's friends
-- On users only the columns an answer shows: logins write last_login and
-- token changes tokens_valid_after, and neither should empty the caches.

CREATE FUNCTION cache_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('devsearch_cache', '');
    RETURN NULL;  -- AFTER ... FOR EACH STATEMENT: return value ignored
END;
$$;

CREATE TRIGGER projects_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER project_tags_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON project_tags
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER tags_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tags
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER reviews_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reviews
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER profiles_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON profiles
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER users_cache_notify
    AFTER INSERT OR UPDATE OF username, email OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER skills_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON skills
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER friends_cache_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON friends
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
