/*
 * Invalidation of the response cache by writes made elsewhere: other server
 * instances, seed, createsuperuser, psql. Migration 0002_cache_notify has
 * statement-level triggers on every table a cached answer shows that
 * pg_notify(CACHE_NOTIFY_CHANNEL) when a transaction commits; one thread per
 * server LISTENs on a connection of its own (outside the pool) and bumps the
 * cache's generation for each batch of notifications.
 *
 * While that connection is down, writes could go unnoticed, so the cache is
 * suspended (nothing served, nothing stored) from the moment the loss is seen
 * until LISTEN is in place again; the thread reconnects with a growing delay
 * (50 ms to 2 s).
 */
#ifndef DEVSEARCH_CACHE_LISTENER_H
#define DEVSEARCH_CACHE_LISTENER_H

#include "core/response_cache.h"

/* The channel of the 0002_cache_notify triggers. */
#define CACHE_NOTIFY_CHANNEL "devsearch_cache"

struct cache_listener;

/*
 * Connect (once, in the caller, so that a server that answers is normally
 * listening already) and start the thread; if the database cannot be reached
 * the cache stays suspended and the thread keeps trying. database_url (NULL:
 * libpq's PG* variables) is copied; cache is borrowed and must outlive the
 * listener. A NULL cache (caching disabled) starts nothing. Returns 0 with
 * *out set (NULL when there is nothing to listen for), -1 if no thread could
 * be started.
 */
int cache_listener_start(const char *database_url, struct response_cache *cache,
			 struct cache_listener **out);

/* 1 while LISTEN is in place (for tests and the log). 0 for NULL. */
int cache_listener_connected(struct cache_listener *listener);

/* Stop the thread (at once, also while it waits to reconnect), close and free. NULL is fine. */
void cache_listener_stop(struct cache_listener *listener);

#endif
