/*
 * The email outbox: mail is queued in the sender's own transaction and sent
 * later by the delivery worker (core/mailer.c), so a rolled-back request sends
 * nothing and a failed delivery is retried, never lost. SQL only.
 */
#ifndef DEVSEARCH_MODELS_EMAIL_H
#define DEVSEARCH_MODELS_EMAIL_H

#include <stddef.h>

#include "core/app.h"
#include "models/db.h"

/*
 * Queue one email on conn, inside the caller's transaction (so it is sent only
 * if that commits). All strings are borrowed; kind may be NULL (stored as "").
 */
enum app_err email_enqueue(struct db_conn *conn, const char *to, const char *subject,
			   const char *body, const char *kind);

/* One claimed email; every string is owned by the list. */
struct outbox_email {
	char *id, *to, *subject, *body;
	int attempts; /* including the attempt this claim is for */
};

/*
 * Claim up to limit due, unsent emails for this worker, oldest due first. One
 * statement (run it outside a transaction, so the claim commits at once) pushes
 * their next_attempt_at forward by a lease of 5 minutes and counts the attempt;
 * FOR UPDATE SKIP LOCKED keeps several server instances from sending the same
 * email at the same time, and a worker that dies mid-delivery only delays the
 * email by the lease. *out is a new array of *n entries (caller
 * outbox_emails_free()s; NULL and 0 on error or when none is due).
 */
enum app_err email_claim_due(struct db_conn *conn, int limit, struct outbox_email **out, size_t *n);
void outbox_emails_free(struct outbox_email *list, size_t n);

/* Record that email id was handed to the mail server. */
enum app_err email_mark_sent(struct db_conn *conn, const char *id);

/*
 * Record a failed attempt (error is borrowed) and schedule the next one with
 * exponential backoff: min(5 s × 2^(attempts-1), 1 h) from now. Never deletes.
 */
enum app_err email_mark_failed(struct db_conn *conn, const char *id, int attempts,
			       const char *error);

/*
 * Give back a claim that was never attempted (the worker is stopping): the
 * attempt is uncounted and the email is due again at once.
 */
enum app_err email_unclaim(struct db_conn *conn, const char *id);

#endif
