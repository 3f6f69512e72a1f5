/*
 * The response store; see response_cache.h. One mutex guards the hash table,
 * the LRU list and the counters (held for a lookup and one copy of a body,
 * never across I/O); the generation and the suspended flag are atomics read
 * without it.
 */
#include "core/response_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL
#define INITIAL_BUCKETS 64

/* One stored answer; key and body follow the struct in the same allocation. */
struct entry {
	struct entry *bucket_next;
	struct entry *newer, *older; /* the LRU list */
	uint64_t hash;
	uint64_t generation;
	size_t bytes; /* the whole allocation and gz, as counted against the bound */
	size_t len;
	char *gz; /* owned, NULL until response_cache_put_gzip() */
	size_t gz_len;
	char etag[RESPONSE_CACHE_ETAG_SIZE];
	char *key;  /* points into data */
	char *body; /* points into data, after the key */
	char data[];
};

struct response_cache {
	atomic_uint_fast64_t generation;
	atomic_int suspended;
	pthread_mutex_t lock;
	/* Under lock: */
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	struct entry *newest, *oldest;
	struct response_cache_stats stats;
};

/*
 * A 64-bit hash (bodies, keys), 8 bytes a step (byte-wise FNV-1a cost ~5 % of an
 * uncached list request): each word is mixed in by multiply and xor-shift, the
 * tail byte-wise, and the length last. For telling bodies apart, not for security.
 */
static uint64_t hash_bytes(const char *data, size_t len)
{
	uint64_t h = FNV_OFFSET, word;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&word, data + i, 8);
		h = (h ^ word) * FNV_PRIME;
		h ^= h >> 32;
	}
	for (; i < len; i++)
		h = (h ^ (unsigned char)data[i]) * FNV_PRIME;
	h ^= (uint64_t)len;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

void response_cache_etag(const char *body, size_t len, char etag[RESPONSE_CACHE_ETAG_SIZE])
{
	snprintf(etag, RESPONSE_CACHE_ETAG_SIZE, "\"%016llx\"",
		 (unsigned long long)hash_bytes(body, len));
}

struct response_cache *response_cache_new(size_t max_bytes)
{
	struct response_cache *cache;
	if (max_bytes == 0)
		return NULL;
	cache = xcalloc(1, sizeof(*cache));
	atomic_init(&cache->generation, 1);
	atomic_init(&cache->suspended, 0);
	pthread_mutex_init(&cache->lock, NULL);
	cache->nbuckets = INITIAL_BUCKETS;
	cache->buckets = xcalloc(cache->nbuckets, sizeof(*cache->buckets));
	cache->stats.max_bytes = max_bytes;
	return cache;
}

void response_cache_free(struct response_cache *cache)
{
	if (!cache)
		return;
	for (struct entry *e = cache->newest, *next; e; e = next) {
		next = e->older;
		free(e->gz);
		free(e);
	}
	free(cache->buckets);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

uint64_t response_cache_generation(struct response_cache *cache)
{
	return cache ? atomic_load(&cache->generation) : 0;
}

void response_cache_invalidate(struct response_cache *cache)
{
	if (cache)
		atomic_fetch_add(&cache->generation, 1);
}

void response_cache_suspend(struct response_cache *cache)
{
	if (!cache)
		return;
	atomic_store(&cache->suspended, 1);
	atomic_fetch_add(&cache->generation, 1);
}

void response_cache_resume(struct response_cache *cache)
{
	if (!cache)
		return;
	/* Bump first: a reader that starts after the flag clears has a generation newer than LISTEN. */
	atomic_fetch_add(&cache->generation, 1);
	atomic_store(&cache->suspended, 0);
}

/* Under lock. */
static struct entry **bucket_of(struct response_cache *cache, uint64_t hash)
{
	return &cache->buckets[hash & (cache->nbuckets - 1)];
}

static struct entry *find(struct response_cache *cache, const char *key, uint64_t hash)
{
	for (struct entry *e = *bucket_of(cache, hash); e; e = e->bucket_next)
		if (e->hash == hash && !strcmp(e->key, key))
			return e;
	return NULL;
}

static void lru_unlink(struct response_cache *cache, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		cache->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		cache->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push_newest(struct response_cache *cache, struct entry *e)
{
	e->newer = NULL;
	e->older = cache->newest;
	if (cache->newest)
		cache->newest->newer = e;
	cache->newest = e;
	if (!cache->oldest)
		cache->oldest = e;
}

static void remove_entry(struct response_cache *cache, struct entry *e)
{
	struct entry **p = bucket_of(cache, e->hash);
	while (*p != e)
		p = &(*p)->bucket_next;
	*p = e->bucket_next;
	lru_unlink(cache, e);
	cache->stats.bytes -= e->bytes;
	cache->stats.entries--;
	free(e->gz);
	free(e);
}

/* Twice the buckets once there are more entries than buckets: chains stay short. */
static void maybe_grow(struct response_cache *cache)
{
	if (cache->stats.entries <= cache->nbuckets)
		return;
	size_t n = cache->nbuckets * 2;
	struct entry **buckets = xcalloc(n, sizeof(*buckets));
	for (size_t i = 0; i < cache->nbuckets; i++) {
		for (struct entry *e = cache->buckets[i], *next; e; e = next) {
			next = e->bucket_next;
			e->bucket_next = buckets[e->hash & (n - 1)];
			buckets[e->hash & (n - 1)] = e;
		}
	}
	free(cache->buckets);
	cache->buckets = buckets;
	cache->nbuckets = n;
}

/* A copy of len bytes at data, NUL-terminated as callers may expect of a body. */
static char *copy_body(const char *data, size_t len)
{
	char *copy = xmalloc(len + 1);
	memcpy(copy, data, len);
	copy[len] = '\0';
	return copy;
}

/* Under lock: the current entry for key, or NULL (a stale one is freed). */
static struct entry *find_current(struct response_cache *cache, const char *key, uint64_t hash)
{
	struct entry *e = find(cache, key, hash);
	if (e && e->generation != atomic_load(&cache->generation)) {
		remove_entry(cache, e);
		e = NULL;
	}
	return e;
}

int response_cache_get(struct response_cache *cache, const char *key, struct cached_response *out)
{
	return response_cache_lookup(cache, key, 0, out);
}

int response_cache_lookup(struct response_cache *cache, const char *key, int want_gzip,
			  struct cached_response *out)
{
	uint64_t hash;
	struct entry *e;
	int found = 0;

	memset(out, 0, sizeof(*out));
	if (!cache || atomic_load(&cache->suspended))
		return 0;
	hash = hash_bytes(key, strlen(key));
	pthread_mutex_lock(&cache->lock);
	e = find_current(cache, key, hash);
	if (e) {
		lru_unlink(cache, e);
		lru_push_newest(cache, e);
		out->gzip = want_gzip && e->gz;
		out->len = out->gzip ? e->gz_len : e->len;
		out->body = copy_body(out->gzip ? e->gz : e->body, out->len);
		memcpy(out->etag, e->etag, sizeof(out->etag));
		cache->stats.hits++;
		cache->stats.gzip_hits += (unsigned long)out->gzip;
		found = 1;
	} else {
		cache->stats.misses++;
	}
	pthread_mutex_unlock(&cache->lock);
	return found;
}

void response_cache_hit_release(struct cached_response *hit)
{
	free(hit->body);
	memset(hit, 0, sizeof(*hit));
}

void response_cache_put(struct response_cache *cache, const char *key, uint64_t generation,
			const char *body, size_t len, const char *etag)
{
	if (!cache || atomic_load(&cache->suspended))
		return;
	size_t key_len = strlen(key);
	size_t bytes = sizeof(struct entry) + key_len + 1 + len;
	if (bytes > cache->stats.max_bytes / 4)
		return;
	uint64_t hash = hash_bytes(key, key_len);
	/* Built outside the lock: only the linking needs it. */
	struct entry *e = xmalloc(bytes);
	memset(e, 0, sizeof(*e));
	e->hash = hash;
	e->generation = generation;
	e->bytes = bytes;
	e->len = len;
	snprintf(e->etag, sizeof(e->etag), "%s", etag);
	e->key = e->data;
	memcpy(e->key, key, key_len + 1);
	e->body = e->data + key_len + 1;
	if (len)
		memcpy(e->body, body, len);

	pthread_mutex_lock(&cache->lock);
	/* Stale at birth: a write was committed while it was computed. (Later ones: get checks.) */
	if (generation != atomic_load(&cache->generation)) {
		pthread_mutex_unlock(&cache->lock);
		free(e);
		return;
	}
	struct entry *old = find(cache, key, hash);
	if (old)
		remove_entry(cache, old);
	while (cache->oldest && cache->stats.bytes + bytes > cache->stats.max_bytes) {
		remove_entry(cache, cache->oldest);
		cache->stats.evictions++;
	}
	struct entry **bucket = bucket_of(cache, hash);
	e->bucket_next = *bucket;
	*bucket = e;
	lru_push_newest(cache, e);
	cache->stats.bytes += bytes;
	cache->stats.entries++;
	cache->stats.stores++;
	maybe_grow(cache);
	pthread_mutex_unlock(&cache->lock);
}

void response_cache_put_gzip(struct response_cache *cache, const char *key, const char *etag,
			     const char *gz, size_t len)
{
	if (!cache || atomic_load(&cache->suspended))
		return;
	uint64_t hash = hash_bytes(key, strlen(key));
	/* Copied outside the lock; freed unused when the entry cannot take it. */
	char *copy = copy_body(gz, len);

	pthread_mutex_lock(&cache->lock);
	struct entry *e = find_current(cache, key, hash);
	if (!e || e->gz || strcmp(e->etag, etag) || e->bytes + len > cache->stats.max_bytes / 4)
		goto out;
	/* Make room without evicting e itself: it is the newest once unlinked and pushed. */
	lru_unlink(cache, e);
	lru_push_newest(cache, e);
	while (cache->oldest != e && cache->stats.bytes + len > cache->stats.max_bytes) {
		remove_entry(cache, cache->oldest);
		cache->stats.evictions++;
	}
	if (cache->stats.bytes + len > cache->stats.max_bytes)
		goto out;
	e->gz = copy;
	e->gz_len = len;
	e->bytes += len;
	cache->stats.bytes += len;
	cache->stats.gzip_stores++;
	copy = NULL;
out:
	pthread_mutex_unlock(&cache->lock);
	free(copy);
}

void response_cache_stats(struct response_cache *cache, struct response_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!cache)
		return;
	pthread_mutex_lock(&cache->lock);
	*out = cache->stats;
	pthread_mutex_unlock(&cache->lock);
}
