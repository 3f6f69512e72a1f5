-- 0001_initial (down): drops everything created by 0001_initial.up.sql.
--
-- Run by the migration runner inside a single transaction: no BEGIN/COMMIT here.
-- Tables are dropped in dependency order, without CASCADE, so that an
-- unexpected dependency makes the migration fail instead of silently
-- dropping something else. Indexes, constraints and the reviews trigger go
-- with their tables.

DROP TABLE IF EXISTS login_failures;
DROP TABLE IF EXISTS email_outbox;
DROP TABLE IF EXISTS password_resets;
DROP TABLE IF EXISTS blacklisted_tokens;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS login_sessions;
DROP TABLE IF EXISTS messages;

-- profiles -> notes and notes -> profiles reference each other: break the
-- cycle first.
ALTER TABLE IF EXISTS profiles DROP CONSTRAINT IF EXISTS profiles_favorite_note_fkey;
DROP TABLE IF EXISTS notes;

DROP TABLE IF EXISTS reviews;             -- drops the reviews_count_votes trigger
DROP FUNCTION IF EXISTS reviews_count_votes();

DROP TABLE IF EXISTS project_tags;
DROP TABLE IF EXISTS projects;
DROP TABLE IF EXISTS tags;
DROP TABLE IF EXISTS friends;
DROP TABLE IF EXISTS skills;
DROP TABLE IF EXISTS profiles;
DROP TABLE IF EXISTS users;

-- The pg_trgm extension is left installed on purpose: it is database-wide
-- and other schemas or later migrations may rely on it. It is harmless, and
-- the up migration uses CREATE EXTENSION IF NOT EXISTS.
