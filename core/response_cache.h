/*
 * The in-process store of public GET answers (RESPONSE_CACHE_BYTES): bodies
 * by key, each stamped with the generation it was computed in, bounded in
 * bytes with least-recently-used eviction, safe to use from every HTTP
 * thread. Knows nothing of HTTP or SQL: api/cache.c decides what is stored
 * and how a hit is answered, core/cache_listener.c and the dispatcher decide
 * when the generation moves.
 *
 * Invalidation is a generation counter: bumping it makes every stored entry
 * stale at once (stale entries are never served, and are freed when met or
 * evicted). A reader takes the generation before it reads the database and
 * stores its answer with it; an answer computed before a write that was
 * bumped meanwhile is stale at birth and is not stored.
 *
 * An entry may also keep the gzip form of its body (made once by the HTTP
 * side, attached with response_cache_put_gzip()), counted in the same budget,
 * so that a hit asking for it is never compressed again.
 */
#ifndef DEVSEARCH_RESPONSE_CACHE_H
#define DEVSEARCH_RESPONSE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct response_cache;

/* Quoted strong entity tag of a body ("\"0123456789abcdef\""): 18 characters and the NUL. */
#define RESPONSE_CACHE_ETAG_SIZE 19

/* What a hit hands back. */
struct cached_response {
	char *body; /* owned: free() it, or response_cache_hit_release() */
	size_t len;
	char etag[RESPONSE_CACHE_ETAG_SIZE]; /* of the plain body, whichever form body is */
	int gzip;                            /* body is the gzip form of the stored answer */
};

/*
 * A store of at most max_bytes (keys, bodies and the bookkeeping of each
 * entry). Returns NULL when max_bytes is 0: every function below takes NULL
 * as "no cache" (nothing is found, nothing stored). Caller
 * response_cache_free()s.
 */
struct response_cache *response_cache_new(size_t max_bytes);
void response_cache_free(struct response_cache *cache);

/*
 * The current generation; take it before reading the database for an answer
 * that may be stored. 0 for NULL. Lock-free.
 */
uint64_t response_cache_generation(struct response_cache *cache);

/* Make every stored entry stale. Lock-free, so it may be called anywhere. */
void response_cache_invalidate(struct response_cache *cache);

/*
 * While suspended (the invalidation listener lost its connection, so writes
 * by other servers would go unnoticed), nothing is found and nothing stored.
 * Both bump the generation: resume after LISTEN is in place again, so that
 * anything read before it is never served.
 */
void response_cache_suspend(struct response_cache *cache);
void response_cache_resume(struct response_cache *cache);

/*
 * Look key up. Returns 1 with *out filled (a copy: release it with
 * response_cache_hit_release()) when a current entry is found, 0 otherwise.
 * key is borrowed.
 */
int response_cache_get(struct response_cache *cache, const char *key, struct cached_response *out);
/*
 * The same, but with want_gzip set a hit hands back the entry's gzip form
 * (out->gzip = 1) when one was attached, else the plain body (out->gzip = 0).
 */
int response_cache_lookup(struct response_cache *cache, const char *key, int want_gzip,
			  struct cached_response *out);
void response_cache_hit_release(struct cached_response *hit);

/*
 * Store a copy of body under key, computed in generation (from
 * response_cache_generation() before the database was read), with its etag.
 * Nothing is stored when the generation has moved since, when suspended, or
 * when the entry would take more than a quarter of the budget; least recently
 * used entries are evicted to make room. All arguments are borrowed.
 */
void response_cache_put(struct response_cache *cache, const char *key, uint64_t generation,
			const char *body, size_t len, const char *etag);

/*
 * Keep gz (len bytes, the gzip form of the body stored under key with etag)
 * next to that body. Nothing is kept when the entry is gone, stale, has
 * another etag or a gzip form already, or when it would then take more than a
 * quarter of the budget; other entries are evicted to make room. All
 * arguments are borrowed.
 */
void response_cache_put_gzip(struct response_cache *cache, const char *key, const char *etag,
			     const char *gz, size_t len);

/* The strong entity tag of body into etag: a quoted 64-bit FNV-1a hash in hex. */
void response_cache_etag(const char *body, size_t len, char etag[RESPONSE_CACHE_ETAG_SIZE]);

/* Counters, for tests and the log. */
struct response_cache_stats {
	size_t bytes;     /* what the entries take now; never above max_bytes */
	size_t max_bytes; /* the bound */
	size_t entries;
	unsigned long hits, misses, stores, evictions;
	unsigned long gzip_stores; /* gzip forms attached */
	unsigned long gzip_hits;   /* hits answered with a stored gzip form */
};
void response_cache_stats(struct response_cache *cache, struct response_cache_stats *out);

#endif
