/*
 * The application context handed to every layer, and the one error enum every
 * layer returns. Nothing here allocates.
 */
#ifndef DEVSEARCH_APP_H
#define DEVSEARCH_APP_H

/* One error code for every layer; api/http.c maps each to a status and body. */
enum app_err {
	APP_OK = 0,
	APP_ERR_INVALID,         /* bad input: 400 */
	APP_ERR_CONFLICT,        /* unique constraint: 400 on the field */
	APP_ERR_UNAUTHENTICATED, /* 401 */
	APP_ERR_FORBIDDEN,       /* 403 */
	APP_ERR_NOT_FOUND,       /* 404 */
	APP_ERR_TOO_LARGE,       /* 413 */
	APP_ERR_UNSUPPORTED,     /* 415 */
	APP_ERR_THROTTLED,       /* 429 */
	APP_ERR_UNAVAILABLE,     /* database unreachable: 503 */
	APP_ERR_RETRY,           /* serialization failure or deadlock: retry the transaction */
	APP_ERR_INTERNAL,        /* anything else: 500, details only in the log */
};

struct config;
struct db_pool;
struct router;
struct token_keys;
struct password_hasher;
struct response_cache;
struct metrics;
struct rate_limiter;

/*
 * Passed as user data to every endpoint. Immutable after start: the pool, the
 * hasher and the response cache do their own locking, the config and the
 * router are read-only.
 */
struct app {
	const struct config *cfg;
	struct db_pool *pool;
	struct db_pool *replica; /* DATABASE_REPLICA_URL's pool for reads; NULL: none */
	const struct router *router;
	const struct token_keys *keys;
	struct password_hasher *hasher; /* does its own locking (bounded hashing slots) */
	struct response_cache *cache;   /* does its own locking; NULL: RESPONSE_CACHE_BYTES=0 */
	struct metrics *metrics;        /* atomics, no lock; NULL: METRICS=off, nothing counted */
	struct rate_limiter *limiter;   /* does its own locking; NULL: RATE_LIMIT_* both off */
};

#endif
