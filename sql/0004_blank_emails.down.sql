-- 0004_blank_emails (down): every email unique again, blank ones included. Fails
-- while two users have a blank email: give them addresses first.
--
-- Run by the migration runner inside a single transaction: no BEGIN/COMMIT here.

DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
