-- 0001_initial (up): initial DevSearch schema — users, profiles, skills,
-- friends, tags, projects, reviews (with vote counters), notes, messages,
-- login sessions / refresh tokens, password resets, email outbox and
-- login throttling.
--
-- Run by the migration runner inside a single transaction: no BEGIN/COMMIT here.

-- Case-insensitive substring search (ILIKE '%foo%') is served by GIN trigram
-- indexes. gen_random_uuid() is built in since PostgreSQL 13.
CREATE EXTENSION IF NOT EXISTS pg_trgm;


-- ---------------------------------------------------------------------------
-- Accounts
-- ---------------------------------------------------------------------------

CREATE TABLE users (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username           text        NOT NULL CHECK (char_length(username) BETWEEN 1 AND 150),
    email              text        NOT NULL CHECK (char_length(email) <= 254),
    password           text        NOT NULL,              -- argon2 PHC string
    is_active          boolean     NOT NULL DEFAULT true,
    is_staff           boolean     NOT NULL DEFAULT false,
    is_superuser       boolean     NOT NULL DEFAULT false,
    date_joined        timestamptz NOT NULL DEFAULT now(),
    last_login         timestamptz NULL,
    -- Access tokens issued before this instant are refused (logout everywhere,
    -- password change), without having to track every access token.
    tokens_valid_after timestamptz NULL
);

-- Uniqueness is case-insensitive: "Alice" and "alice" are the same account.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key    ON users (lower(email));
-- Admin list ordering (LIMIT/OFFSET pages).
CREATE INDEX users_date_joined_id_idx ON users (date_joined, id);
-- Admin search.
-- Trigram indexes are built with fastupdate off, here and below: with a pending
-- list, rows inserted since the last vacuum are read by every search, and after a
-- bulk insert the planner rightly prefers a sequential scan. Searches must stay
-- index scans; the writes these tables see are small.
CREATE INDEX users_username_trgm_idx ON users USING gin (username gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX users_email_trgm_idx    ON users USING gin (email gin_trgm_ops) WITH (fastupdate = off);


-- ---------------------------------------------------------------------------
-- Profiles (username and email live on users only, never duplicated here)
-- ---------------------------------------------------------------------------

CREATE TABLE profiles (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid        NOT NULL UNIQUE REFERENCES users ON DELETE CASCADE,
    name             text        NOT NULL CHECK (char_length(name) <= 200),
    location         text        NOT NULL DEFAULT '' CHECK (char_length(location) <= 200),
    short_intro      text        NOT NULL DEFAULT '' CHECK (char_length(short_intro) <= 200),
    bio              text        NOT NULL DEFAULT '',
    profile_image    text        NOT NULL DEFAULT '' CHECK (char_length(profile_image) <= 2000),
    social_github    text        NOT NULL DEFAULT '' CHECK (char_length(social_github) <= 2000),
    social_twitter   text        NOT NULL DEFAULT '' CHECK (char_length(social_twitter) <= 2000),
    social_linkedin  text        NOT NULL DEFAULT '' CHECK (char_length(social_linkedin) <= 2000),
    social_youtube   text        NOT NULL DEFAULT '' CHECK (char_length(social_youtube) <= 2000),
    social_website   text        NOT NULL DEFAULT '' CHECK (char_length(social_website) <= 2000),
    birth_date       date        NULL,
    is_active        boolean     NOT NULL DEFAULT true,
    created          timestamptz NOT NULL DEFAULT now(),
    -- Foreign key added after notes exists (see profiles_favorite_note_fkey).
    favorite_note_id uuid        NULL
);

-- List order (LIMIT/OFFSET pages).
CREATE INDEX profiles_created_id_idx ON profiles (created, id);
-- Developer search.
CREATE INDEX profiles_name_trgm_idx        ON profiles USING gin (name gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX profiles_short_intro_trgm_idx ON profiles USING gin (short_intro gin_trgm_ops) WITH (fastupdate = off);


-- ---------------------------------------------------------------------------
-- Skills
-- ---------------------------------------------------------------------------

CREATE TABLE skills (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id    uuid        NOT NULL REFERENCES profiles ON DELETE CASCADE,
    name        text        NOT NULL CHECK (char_length(name) <= 200 AND btrim(name) <> ''),
    description text        NOT NULL DEFAULT '',
    created     timestamptz NOT NULL DEFAULT now()
);

-- A profile cannot list the same skill twice, whatever the case.
CREATE UNIQUE INDEX skills_owner_name_lower_key ON skills (owner_id, lower(name));
-- A profile's skills in order; also serves the owner_id foreign key.
CREATE INDEX skills_owner_created_id_idx ON skills (owner_id, created, id);
CREATE INDEX skills_name_trgm_idx ON skills USING gin (name gin_trgm_ops) WITH (fastupdate = off);


-- ---------------------------------------------------------------------------
-- Friends (directed: profile_id lists friend_id)
-- ---------------------------------------------------------------------------

CREATE TABLE friends (
    profile_id uuid        NOT NULL REFERENCES profiles ON DELETE CASCADE,
    friend_id  uuid        NOT NULL REFERENCES profiles ON DELETE CASCADE,
    created    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile_id, friend_id),
    CHECK (profile_id <> friend_id)
);

-- "Who lists me as a friend", and the friend_id foreign key on delete.
CREATE INDEX friends_friend_id_idx ON friends (friend_id);


-- ---------------------------------------------------------------------------
-- Tags
-- ---------------------------------------------------------------------------

CREATE TABLE tags (
    id      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name    text        NOT NULL CHECK (char_length(name) <= 200 AND btrim(name) <> ''),
    created timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX tags_name_lower_key ON tags (lower(name));
-- List order (LIMIT/OFFSET pages).
CREATE INDEX tags_name_id_idx ON tags (name, id);
CREATE INDEX tags_name_trgm_idx ON tags USING gin (name gin_trgm_ops) WITH (fastupdate = off);


-- ---------------------------------------------------------------------------
-- Projects
-- ---------------------------------------------------------------------------

CREATE TABLE projects (
    -- A project outlives its owner's profile (owner becomes NULL).
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id       uuid        NULL REFERENCES profiles ON DELETE SET NULL,
    title          text        NOT NULL CHECK (char_length(title) <= 200 AND btrim(title) <> ''),
    description    text        NOT NULL DEFAULT '',
    featured_image text        NOT NULL DEFAULT '' CHECK (char_length(featured_image) <= 2000),
    demo_link      text        NOT NULL DEFAULT '' CHECK (char_length(demo_link) <= 2000),
    source_link    text        NOT NULL DEFAULT '' CHECK (char_length(source_link) <= 2000),
    -- Maintained by the reviews_count_votes trigger; do not write them directly.
    vote_total     integer     NOT NULL DEFAULT 0 CHECK (vote_total >= 0),
    vote_up        integer     NOT NULL DEFAULT 0,
    -- Percentage of up votes, stored so that the list order can be indexed.
    vote_ratio     integer     GENERATED ALWAYS AS (
                       CASE WHEN vote_total > 0 THEN vote_up * 100 / vote_total ELSE 0 END
                   ) STORED,
    created        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_vote_up_check CHECK (vote_up BETWEEN 0 AND vote_total)
);

-- Public list order: best rated first (LIMIT/OFFSET pages).
CREATE INDEX projects_list_order ON projects (vote_ratio DESC, vote_total DESC, title, id);
-- A profile's projects in the same order; also serves the owner_id foreign key.
CREATE INDEX projects_owner_list_order_idx
    ON projects (owner_id, vote_ratio DESC, vote_total DESC, title, id);
CREATE INDEX projects_title_trgm_idx       ON projects USING gin (title gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX projects_description_trgm_idx ON projects USING gin (description gin_trgm_ops) WITH (fastupdate = off);


CREATE TABLE project_tags (
    project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
    tag_id     uuid NOT NULL REFERENCES tags ON DELETE CASCADE,
    PRIMARY KEY (project_id, tag_id)
);

-- Projects having a tag, and the tag_id foreign key on delete.
CREATE INDEX project_tags_tag_project_idx ON project_tags (tag_id, project_id);


-- ---------------------------------------------------------------------------
-- Reviews and vote counters
-- ---------------------------------------------------------------------------

CREATE TABLE reviews (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id   uuid        NOT NULL REFERENCES profiles ON DELETE CASCADE,
    project_id uuid        NOT NULL REFERENCES projects ON DELETE CASCADE,
    body       text        NOT NULL DEFAULT '',
    value      text        NOT NULL CHECK (value IN ('up', 'down')),
    created    timestamptz NOT NULL DEFAULT now(),
    -- One vote per developer and project; also serves the owner_id foreign key.
    CONSTRAINT reviews_one_per_owner_project UNIQUE (owner_id, project_id)
);

-- A project's reviews in order; also serves the project_id foreign key.
CREATE INDEX reviews_project_created_id_idx ON reviews (project_id, created, id);

-- Keeps projects.vote_total / vote_up exact. The counters are changed
-- incrementally (SET x = x + d), never recounted with a subquery: under READ
-- COMMITTED a concurrent UPDATE of the same project waits for the row lock and
-- then re-applies the increment to the latest row version, so no vote is lost,
-- whereas a recount could miss reviews committed by other transactions.
-- Also fires for reviews deleted by cascade: when a profile is deleted the
-- counters of the projects it reviewed drop; when a project is deleted its row
-- is already gone and the UPDATE simply matches nothing.
-- (TRUNCATE reviews bypasses it: counters would have to be reset by hand.)
CREATE FUNCTION reviews_count_votes() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE projects
           SET vote_total = vote_total + 1,
               vote_up    = vote_up + (NEW.value = 'up')::int
         WHERE id = NEW.project_id;

    ELSIF TG_OP = 'DELETE' THEN
        UPDATE projects
           SET vote_total = vote_total - 1,
               vote_up    = vote_up - (OLD.value = 'up')::int
         WHERE id = OLD.project_id;

    ELSIF NEW.project_id = OLD.project_id THEN
        -- Same project: only the direction of the vote can have changed.
        IF NEW.value <> OLD.value THEN
            UPDATE projects
               SET vote_up = vote_up + (NEW.value = 'up')::int - (OLD.value = 'up')::int
             WHERE id = NEW.project_id;
        END IF;

    ELSE
        -- Review moved to another project: take the vote off the old one and
        -- add it to the new one. Rows are locked in id order so that two
        -- transactions moving reviews between the same projects cannot deadlock.
        FOR r IN
            SELECT v.pid, v.d_total, v.d_up
              FROM (VALUES (OLD.project_id, -1, -(OLD.value = 'up')::int),
                           (NEW.project_id,  1,  (NEW.value = 'up')::int))
                   AS v (pid, d_total, d_up)
             ORDER BY v.pid
        LOOP
            UPDATE projects
               SET vote_total = vote_total + r.d_total,
                   vote_up    = vote_up + r.d_up
             WHERE id = r.pid;
        END LOOP;
    END IF;

    RETURN NULL;  -- AFTER trigger: return value ignored
END;
$$;

-- UPDATE OF project_id too, not only value: moving a review must move its vote.
CREATE TRIGGER reviews_count_votes
    AFTER INSERT OR UPDATE OF value, project_id OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION reviews_count_votes();


-- ---------------------------------------------------------------------------
-- Private notes
-- ---------------------------------------------------------------------------

CREATE TABLE notes (
    id       uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id uuid        NOT NULL REFERENCES profiles ON DELETE CASCADE,
    title    text        NOT NULL CHECK (char_length(title) <= 200 AND btrim(title) <> ''),
    body     text        NOT NULL DEFAULT '',
    -- clock_timestamp(), not now(): several notes created in one transaction
    -- still get distinct, ordered timestamps.
    created  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated  timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Target of profiles_favorite_note_fkey (note must belong to the profile).
    CONSTRAINT notes_id_owner_key UNIQUE (id, owner_id)
);

-- A profile's notes, newest first; also serves the owner_id foreign key.
CREATE INDEX notes_owner_created_id_idx ON notes (owner_id, created DESC, id);

-- The favorite note must be one of the profile's own notes: (note id, owner)
-- must match (favorite_note_id, profile id). Deleting that note nulls only
-- favorite_note_id (PostgreSQL 15 column list), not the profile's own id.
ALTER TABLE profiles
    ADD CONSTRAINT profiles_favorite_note_fkey
    FOREIGN KEY (favorite_note_id, id) REFERENCES notes (id, owner_id)
    ON DELETE SET NULL (favorite_note_id);


-- ---------------------------------------------------------------------------
-- Messages
-- ---------------------------------------------------------------------------

CREATE TABLE messages (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- NULL for anonymous senders, or once the sender's profile is deleted:
    -- the recipient keeps the message.
    sender_id    uuid        NULL REFERENCES profiles ON DELETE SET NULL,
    recipient_id uuid        NOT NULL REFERENCES profiles ON DELETE CASCADE,
    name         text        NOT NULL DEFAULT '' CHECK (char_length(name) <= 200),
    email        text        NOT NULL DEFAULT '' CHECK (char_length(email) <= 254),
    subject      text        NOT NULL CHECK (char_length(subject) <= 200 AND btrim(subject) <> ''),
    body         text        NOT NULL CHECK (btrim(body) <> ''),
    is_read      boolean     NOT NULL DEFAULT false,
    created      timestamptz NOT NULL DEFAULT now()
);

-- Inbox: unread first, newest first; also serves the recipient_id foreign key.
CREATE INDEX messages_inbox_order ON messages (recipient_id, is_read, created DESC, id);
CREATE INDEX messages_sender_id_idx ON messages (sender_id);


-- ---------------------------------------------------------------------------
-- Authentication: login sessions, refresh tokens, blacklist
-- ---------------------------------------------------------------------------

-- One row per refresh-token family, i.e. per login.
CREATE TABLE login_sessions (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES users ON DELETE CASCADE,
    created    timestamptz NOT NULL DEFAULT now(),
    last_used  timestamptz NOT NULL DEFAULT now(),
    user_agent text        NOT NULL DEFAULT '',
    ip         text        NOT NULL DEFAULT '',
    revoked_at timestamptz NULL
);

-- A user's active sessions, most recently used first.
CREATE INDEX login_sessions_user_active_idx
    ON login_sessions (user_id, last_used DESC)
    WHERE revoked_at IS NULL;

-- Every session of a user, revoked ones included: deleting a user cascades here.
CREATE INDEX login_sessions_user_id_idx ON login_sessions (user_id);

-- Every issued refresh token (like SimpleJWT's outstanding tokens).
CREATE TABLE refresh_tokens (
    jti        text        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users ON DELETE CASCADE,
    session_id uuid        NOT NULL REFERENCES login_sessions ON DELETE CASCADE,
    -- The token this one was rotated from. Deliberately no foreign key: old
    -- tokens may be purged while their descendants are still valid.
    parent_jti text        NULL,
    created    timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz NULL,
    -- The access token issued with this refresh token: tells which session a
    -- request's access token belongs to ("current" in the sessions list).
    access_jti text        NULL
);

CREATE INDEX refresh_tokens_user_id_idx    ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
-- Purging expired tokens.
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_access_jti_idx ON refresh_tokens (access_jti);

CREATE TABLE blacklisted_tokens (
    jti            text        PRIMARY KEY REFERENCES refresh_tokens (jti) ON DELETE CASCADE,
    blacklisted_at timestamptz NOT NULL DEFAULT now()
);


-- ---------------------------------------------------------------------------
-- Password resets (only a hash of the token is stored)
-- ---------------------------------------------------------------------------

CREATE TABLE password_resets (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES users ON DELETE CASCADE,
    token_hash text        NOT NULL UNIQUE,
    created    timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz NULL
);

CREATE INDEX password_resets_user_id_idx ON password_resets (user_id);


-- ---------------------------------------------------------------------------
-- Outgoing email, written in the same transaction as the change that causes
-- it and sent later by a worker (retries with next_attempt_at).
-- ---------------------------------------------------------------------------

CREATE TABLE email_outbox (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    to_address      text        NOT NULL,
    subject         text        NOT NULL,
    body            text        NOT NULL,
    kind            text        NOT NULL DEFAULT '',
    created         timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text        NULL,
    sent_at         timestamptz NULL
);

-- The worker's queue: only unsent mail is indexed.
CREATE INDEX email_outbox_pending_idx ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;


-- ---------------------------------------------------------------------------
-- Login throttling, counted in the database so that it holds across server
-- instances.
-- ---------------------------------------------------------------------------

CREATE TABLE login_failures (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope     text        NOT NULL CHECK (scope IN ('username', 'ip')),
    key       text        NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);

-- Counting recent failures for one username or IP.
CREATE INDEX login_failures_scope_key_failed_at_idx ON login_failures (scope, key, failed_at);
