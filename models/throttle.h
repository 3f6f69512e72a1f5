/*
 * Failed-login counting in PostgreSQL, so a limit holds across every server
 * instance: one row per failure, counted over a sliding window.
 */
#ifndef DEVSEARCH_MODELS_THROTTLE_H
#define DEVSEARCH_MODELS_THROTTLE_H

#include "models/db.h"

/*
 * Failures in the last window seconds for the username (compared lowercase)
 * and for the client address, and for each the seconds until its oldest
 * failure leaves the window.
 */
struct throttle_state {
	long username_failures, username_retry_after;
	long ip_failures, ip_retry_after;
};
enum app_err throttle_read(struct db_conn *conn, const char *username, const char *ip, long window,
			   struct throttle_state *out);

/* Record one failure for both; drops rows of these keys older than the window. */
enum app_err throttle_record(struct db_conn *conn, const char *username, const char *ip,
			     long window);

/* Forget the username's failures (a successful login). */
enum app_err throttle_clear(struct db_conn *conn, const char *username);

#endif
