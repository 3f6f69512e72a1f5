/*
 * The email_outbox table; see email.h. Knows SQL only: formatting and
 * delivery are core/mailer.c's.
 */
#include "models/email.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"

static const char SQL_ENQUEUE[] = "INSERT INTO email_outbox (to_address, subject, body, kind)"
				  " VALUES ($1, $2, $3, coalesce($4, ''))";
/*
 * The subquery locks the due rows it picks and skips rows another worker is
 * claiming right now; a row claimed and committed meanwhile is re-checked
 * against the WHERE clause and is no longer due, so it is never taken twice.
 */
static const char SQL_CLAIM_DUE[] =
	"UPDATE email_outbox AS e"
	" SET attempts = e.attempts + 1, next_attempt_at = now() + interval '5 minutes'"
	" FROM (SELECT id FROM email_outbox"
	"       WHERE sent_at IS NULL AND next_attempt_at <= now()"
	"       ORDER BY next_attempt_at LIMIT $1"
	"       FOR UPDATE SKIP LOCKED) AS due"
	" WHERE e.id = due.id"
	" RETURNING e.id, e.to_address, e.subject, e.body, e.attempts";
static const char SQL_MARK_SENT[] =
	"UPDATE email_outbox SET sent_at = now() WHERE id = $1 AND sent_at IS NULL";
/* The exponent stops at 10 (5 s × 2^10 > 1 h), so the shift never overflows. */
static const char SQL_MARK_FAILED[] =
	"UPDATE email_outbox SET last_error = $3,"
	" next_attempt_at = now() + least(interval '5 seconds'"
	"   * (1 << least(greatest($2::int - 1, 0), 10)), interval '1 hour')"
	" WHERE id = $1 AND sent_at IS NULL";
static const char SQL_UNCLAIM[] =
	"UPDATE email_outbox SET attempts = greatest(attempts - 1, 0), next_attempt_at = now()"
	" WHERE id = $1 AND sent_at IS NULL";

enum app_err email_enqueue(struct db_conn *conn, const char *to, const char *subject,
			   const char *body, const char *kind)
{
	const char *params[] = {to, subject, body, kind};
	return db_exec(conn, SQL_ENQUEUE, 4, params, NULL);
}

enum app_err email_claim_due(struct db_conn *conn, int limit, struct outbox_email **out, size_t *n)
{
	PGresult *res = NULL;
	char limit_text[16];
	const char *params[] = {limit_text};
	enum app_err err;

	*out = NULL;
	*n = 0;
	snprintf(limit_text, sizeof(limit_text), "%d", limit);
	err = db_exec(conn, SQL_CLAIM_DUE, 1, params, &res);
	if (err != APP_OK)
		goto out;
	*n = (size_t)PQntuples(res);
	if (*n == 0)
		goto out;
	*out = xcalloc(*n, sizeof(**out));
	for (size_t i = 0; i < *n; i++) {
		struct outbox_email *email = &(*out)[i];
		email->id = xstrdup(PQgetvalue(res, (int)i, 0));
		email->to = xstrdup(PQgetvalue(res, (int)i, 1));
		email->subject = xstrdup(PQgetvalue(res, (int)i, 2));
		email->body = xstrdup(PQgetvalue(res, (int)i, 3));
		email->attempts = atoi(PQgetvalue(res, (int)i, 4));
	}
out:
	PQclear(res);
	return err;
}

void outbox_emails_free(struct outbox_email *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].id);
		free(list[i].to);
		free(list[i].subject);
		free(list[i].body);
	}
	free(list);
}

enum app_err email_mark_sent(struct db_conn *conn, const char *id)
{
	const char *params[] = {id};
	return db_exec(conn, SQL_MARK_SENT, 1, params, NULL);
}

enum app_err email_mark_failed(struct db_conn *conn, const char *id, int attempts,
			       const char *error)
{
	char attempts_text[16];
	const char *params[] = {id, attempts_text, error};
	snprintf(attempts_text, sizeof(attempts_text), "%d", attempts);
	return db_exec(conn, SQL_MARK_FAILED, 3, params, NULL);
}

enum app_err email_unclaim(struct db_conn *conn, const char *id)
{
	const char *params[] = {id};
	return db_exec(conn, SQL_UNCLAIM, 1, params, NULL);
}
