-- 0004_blank_emails (up): an email address is unique case-insensitively only
-- when there is one. Registration and the profile always ask for one, but
-- accounts made elsewhere may have none: the Django version's users table
-- allows any number of blank emails (its own unique index skips them), and
-- `devsearch import-django` must be able to take those accounts.
--
-- Run by the migration runner inside a single transaction: no BEGIN/COMMIT here.

DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email <> '';
