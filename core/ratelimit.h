/*
 * Request rate limits shared by every server without a database round trip
 * per request (DRF's AnonRateThrottle and UserRateThrottle, fixed windows).
 *
 * Each server counts hits per (scope, key, window) in a bounded in-process
 * table. Every RATE_LIMIT_SYNC_MS a thread of its own adds each key's hits
 * since the last visit to the rate_limit_counts table (one statement for the
 * batch) and keeps the totals of every server it gets back. A request is
 * allowed while the total at the last visit plus the hits counted here since
 * is under the limit. Between two visits a server does not see the others'
 * hits, so all servers together may let through up to (servers - 1) x the
 * hits each lets through in one sync interval over the limit. If the
 * database cannot be reached, each server counts on its own (fail open) and
 * sends its hits once it is back.
 *
 * The table holds at most RATE_LIMIT_MAX_KEYS keys; past it, the key whose
 * current window began first is dropped (its hits not yet sent are lost; the
 * database still has the rest). Windows that ended are dropped at each visit.
 */
#ifndef DEVSEARCH_CORE_RATELIMIT_H
#define DEVSEARCH_CORE_RATELIMIT_H

#include <stddef.h>

#include "core/app.h"
#include "core/config.h"

enum rate_scope {
	RATE_ANON, /* anonymous requests, by client address (RATE_LIMIT_ANON) */
	RATE_USER, /* authenticated requests, by user id (RATE_LIMIT_USER) */
};

/* What the limiter decided for one request, for the RateLimit-* headers. */
struct rate_decision {
	int allowed;
	long limit;     /* requests per window */
	long remaining; /* requests left in this window after this one */
	long reset;     /* seconds until the window ends (at least 1) */
};

struct rate_limiter;
struct db_pool;

/*
 * A limiter with the two rates (limit 0: that scope is not limited) holding
 * at most max_keys keys, counting in this process only. NULL if both rates
 * are off. Free with rate_limiter_free().
 */
struct rate_limiter *rate_limiter_new(const struct config_rate *anon,
				      const struct config_rate *user, size_t max_keys);

/*
 * rate_limiter_new() from the settings, plus the thread that shares the
 * counts through pool (borrowed, must outlive the limiter) every
 * RATE_LIMIT_SYNC_MS. 0 with *out set (NULL when both rates are off), or -1
 * if the thread could not be started.
 */
int rate_limiter_start(const struct config *cfg, struct db_pool *pool, struct rate_limiter **out);

/* Stop the thread (after one last visit to the database) and free. NULL is fine. */
void rate_limiter_free(struct rate_limiter *limiter);

/*
 * Count one request of key (a client address or a user id, at most 63 bytes;
 * longer keys are cut) in scope at Unix time now, unless it is over the
 * limit. Returns 1 with *out filled, or 0 if scope is not limited (nothing
 * counted).
 */
int rate_limiter_hit(struct rate_limiter *limiter, enum rate_scope scope, const char *key, long now,
		     struct rate_decision *out);

/*
 * One visit to the database, as the thread makes them: send the hits counted
 * since the last one and take the totals, drop ended windows (and every
 * minute or so delete them from the table). APP_OK, or the error (the hits
 * are then kept for the next visit).
 */
enum app_err rate_limiter_sync(struct rate_limiter *limiter, struct db_pool *pool, long now);

/* Keys held now; for the tests of the bound. */
size_t rate_limiter_key_count(struct rate_limiter *limiter);

#endif
