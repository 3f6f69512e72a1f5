/*
 * The shared request counts of the rate limits (table rate_limit_counts):
 * each server adds what it counted since its last visit and reads back the
 * totals of every server. See core/ratelimit.h for how they are used.
 */
#ifndef DEVSEARCH_MODELS_RATELIMIT_H
#define DEVSEARCH_MODELS_RATELIMIT_H

#include <stddef.h>

#include "models/db.h"

/* One key's hits in one window; total is filled by rate_count_add(). */
struct rate_count {
	const char *scope; /* "anon" or "user"; borrowed */
	const char *key;   /* client address or user id; borrowed */
	long window_start, window_end;
	long hits;  /* to add */
	long total; /* out: every server's hits in the window, these included; -1 if unknown */
};

/*
 * Add each row's hits to its (scope, key, window_start) row, creating it, in
 * one statement, and fill each total. rows must be sorted with
 * rate_count_compare() and hold each (scope, key, window_start) once: every
 * server then locks rows in the same order, so two batches never deadlock.
 */
enum app_err rate_count_add(struct db_conn *conn, struct rate_count *rows, size_t n);

/* qsort() order of struct rate_count: scope, key, window_start. */
int rate_count_compare(const void *a, const void *b);

/* Delete the rows of windows that ended at or before now (Unix seconds). */
enum app_err rate_count_prune(struct db_conn *conn, long now);

#endif
