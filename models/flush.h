/*
 * Removing what the auth tables no longer need (SimpleJWT's
 * flushexpiredtokens, and the same for our other bookkeeping tables), in
 * batches: each statement deletes at most a batch of rows and is its own
 * transaction, so a long flush never holds many row locks for long.
 */
#ifndef DEVSEARCH_MODELS_FLUSH_H
#define DEVSEARCH_MODELS_FLUSH_H

#include "models/db.h"

/*
 * A refresh token is deleted only this long after it expired: a server whose
 * clock lags the database's by less still rejects it as expired before it
 * could take an unknown (deleted) token for one of the Django version's and
 * adopt it, blacklisted or not.
 */
#define FLUSH_TOKEN_GRACE 300

/* Sent emails are kept this long, for looking into a complaint. */
#define FLUSH_SENT_EMAIL_AGE (7 * 86400L)

/* What to delete. */
struct flush_limits {
	long session_idle; /* a session with no token left, unused this long (REFRESH_TOKEN_LIFETIME) */
	long failure_window; /* login failures older than this (LOGIN_THROTTLE_WINDOW) */
	long batch;          /* rows per statement */
	/* Asked between batches; nonzero stops the flush (NULL: never). */
	int (*stop)(void *arg);
	void *stop_arg;
};

/* Rows deleted, by kind. */
struct flush_counts {
	long tokens;      /* refresh tokens expired FLUSH_TOKEN_GRACE ago */
	long blacklisted; /* of those, blacklisted (their blacklist row went by cascade) */
	long sessions;    /* login sessions with no token left and unused for session_idle */
	long resets;      /* password resets used or expired */
	long emails;      /* outbox rows sent FLUSH_SENT_EMAIL_AGE ago (unsent ones stay) */
	long failures;    /* login failures older than failure_window */
};

/*
 * Try to take the flush's session-level advisory lock on conn (a connection
 * of its own, not behind a transaction pooler): *taken 1 if taken, 0 if
 * another session holds it. Release it with flush_unlock() or by closing
 * the connection.
 */
enum app_err flush_try_lock(struct db_conn *conn, int *taken);
enum app_err flush_unlock(struct db_conn *conn);

/*
 * Delete, in this order, expired refresh tokens, sessions left without a
 * token, used or expired password resets, old sent emails and old login
 * failures, batch by batch, outside any transaction of the caller. *out
 * counts what was deleted, also on error (batches already committed stay).
 * APP_OK, also when stopped early by limits->stop.
 */
enum app_err flush_expired(struct db_conn *conn, const struct flush_limits *limits,
			   struct flush_counts *out);

#endif
