/* The flush's SQL; see flush.h. */
#include "models/flush.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An arbitrary constant that names "devsearch flush" among advisory locks. */
static const char SQL_TRY_LOCK[] = "SELECT pg_try_advisory_lock(7240113022)::int";
static const char SQL_UNLOCK[] = "SELECT pg_advisory_unlock(7240113022)";

/*
 * Every statement deletes at most $2 rows and answers one row: how many it
 * deleted, and a second count (the blacklisted tokens among them; 0 for the
 * others). The blacklist rows still show in the final SELECT: it reads the
 * statement's snapshot, and the cascade runs at its end.
 */
static const char SQL_TOKENS[] =
	"WITH gone AS (DELETE FROM refresh_tokens WHERE jti IN ("
	"SELECT jti FROM refresh_tokens WHERE expires_at < now() - make_interval(secs => "
	"$1::bigint) "
	"LIMIT $2::int) RETURNING jti) "
	"SELECT count(*), count(b.jti) FROM gone LEFT JOIN blacklisted_tokens b USING (jti)";
/* Sessions with a token left stay, revoked or not: refresh and reuse detection read them. */
static const char SQL_SESSIONS[] =
	"WITH gone AS (DELETE FROM login_sessions WHERE id IN ("
	"SELECT s.id FROM login_sessions s WHERE s.last_used < now() - make_interval(secs => "
	"$1::bigint) AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id) "
	"LIMIT $2::int) RETURNING 1) "
	"SELECT count(*), 0 FROM gone";
/* reset_use() takes only unused ones with expires_at > now(). */
static const char SQL_RESETS[] =
	"WITH gone AS (DELETE FROM password_resets WHERE id IN ("
	"SELECT id FROM password_resets WHERE used_at IS NOT NULL "
	"OR expires_at <= now() - make_interval(secs => $1::bigint) LIMIT $2::int) RETURNING 1) "
	"SELECT count(*), 0 FROM gone";
static const char SQL_EMAILS[] =
	"WITH gone AS (DELETE FROM email_outbox WHERE id IN ("
	"SELECT id FROM email_outbox WHERE sent_at < now() - make_interval(secs => $1::bigint) "
	"LIMIT $2::int) RETURNING 1) "
	"SELECT count(*), 0 FROM gone";
/* <=, as throttle_record() prunes: throttle_read() counts failed_at > now() - window. */
static const char SQL_FAILURES[] = "WITH gone AS (DELETE FROM login_failures WHERE id IN ("
				   "SELECT id FROM login_failures WHERE failed_at <= now() - "
				   "make_interval(secs => $1::bigint) "
				   "LIMIT $2::int) RETURNING 1) "
				   "SELECT count(*), 0 FROM gone";

enum app_err flush_try_lock(struct db_conn *conn, int *taken)
{
	PGresult *res = NULL;
	enum app_err err = db_exec(conn, SQL_TRY_LOCK, 0, NULL, &res);
	*taken = err == APP_OK && PQntuples(res) == 1 && atoi(PQgetvalue(res, 0, 0)) == 1;
	PQclear(res);
	return err;
}

enum app_err flush_unlock(struct db_conn *conn)
{
	return db_exec(conn, SQL_UNLOCK, 0, NULL, NULL);
}

static int stop_asked(const struct flush_limits *limits)
{
	return limits->stop && limits->stop(limits->stop_arg);
}

/* Run sql (age $1, batch $2) until a batch comes back short; counts added to *rows and *extra. */
static enum app_err delete_in_batches(struct db_conn *conn, const char *sql, long age,
				      const struct flush_limits *limits, long *rows, long *extra)
{
	char age_text[24], batch_text[24];
	const char *params[] = {age_text, batch_text};
	enum app_err err = APP_OK;
	long deleted;

	snprintf(age_text, sizeof(age_text), "%ld", age);
	snprintf(batch_text, sizeof(batch_text), "%ld", limits->batch);
	do {
		PGresult *res = NULL;
		if (stop_asked(limits))
			break;
		err = db_exec(conn, sql, 2, params, &res);
		deleted = 0;
		if (err == APP_OK && PQntuples(res) == 1) {
			deleted = atol(PQgetvalue(res, 0, 0));
			*rows += deleted;
			*extra += atol(PQgetvalue(res, 0, 1));
		}
		PQclear(res);
	} while (err == APP_OK && deleted == limits->batch);
	return err;
}

enum app_err flush_expired(struct db_conn *conn, const struct flush_limits *limits,
			   struct flush_counts *out)
{
	long unused = 0;
	enum app_err err;

	memset(out, 0, sizeof(*out));
	/* Tokens first: the sessions they leave empty go in the same flush. */
	err = delete_in_batches(conn, SQL_TOKENS, FLUSH_TOKEN_GRACE, limits, &out->tokens,
				&out->blacklisted);
	if (err == APP_OK)
		err = delete_in_batches(conn, SQL_SESSIONS, limits->session_idle, limits,
					&out->sessions, &unused);
	if (err == APP_OK)
		err = delete_in_batches(conn, SQL_RESETS, 0, limits, &out->resets, &unused);
	if (err == APP_OK)
		err = delete_in_batches(conn, SQL_EMAILS, FLUSH_SENT_EMAIL_AGE, limits,
					&out->emails, &unused);
	if (err == APP_OK)
		err = delete_in_batches(conn, SQL_FAILURES, limits->failure_window, limits,
					&out->failures, &unused);
	return err;
}
