/*
 * The rate limiter's table and its sync thread; see ratelimit.h. Owns the
 * table (under one mutex) and the thread; reaches the database only through
 * models/ratelimit.h, on a connection borrowed from the pool per visit.
 */
#include "core/ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "models/ratelimit.h"

#define KEY_SIZE 64
/* Past this many buckets, chains grow instead of the array (a 100 M key cap needs no 1 GiB). */
#define MAX_BUCKETS (1u << 20)
/* Ended windows are deleted from the table at most this often (seconds). */
#define PRUNE_EVERY 60
/* Rows per statement of a visit, so one statement's parameters stay small. */
#define SYNC_BATCH 2000

static const char *const SCOPE_NAMES[] = {"anon", "user"};

/* One key's count in its current window. */
struct rate_entry {
	struct rate_entry *next;          /* in its bucket */
	struct rate_entry *older, *newer; /* by window start: the oldest is evicted first */
	enum rate_scope scope;
	long window_start, window_end;
	long shared;  /* every server's hits at the last visit (this one's included) */
	long sending; /* this server's hits in the visit under way */
	long local;   /* this server's hits since, not sent yet */
	char key[KEY_SIZE];
};

struct rate_limiter {
	struct config_rate rates[2]; /* by enum rate_scope */
	size_t max_keys;
	pthread_mutex_t lock; /* the table, the list and count */
	struct rate_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	struct rate_entry *oldest, *newest;
	long last_prune;
	int db_down; /* the last visit failed: said once in the log */

	/* The sync thread; started only by rate_limiter_start(). */
	struct db_pool *pool;
	long sync_ms;
	int has_thread;
	int stopping; /* under wake_lock */
	pthread_mutex_t wake_lock;
	pthread_cond_t wake; /* signalled to stop */
	pthread_t thread;
};

static size_t bucket_of(const struct rate_limiter *l, enum rate_scope scope, const char *key)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)scope; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)(h & (l->nbuckets - 1));
}

static struct rate_entry *entry_find(struct rate_limiter *l, enum rate_scope scope, const char *key)
{
	struct rate_entry *e = l->buckets[bucket_of(l, scope, key)];
	while (e && (e->scope != scope || strcmp(e->key, key)))
		e = e->next;
	return e;
}

static void list_unlink(struct rate_limiter *l, struct rate_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		l->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		l->newest = e->older;
	e->older = e->newer = NULL;
}

static void list_append(struct rate_limiter *l, struct rate_entry *e)
{
	e->older = l->newest;
	e->newer = NULL;
	if (l->newest)
		l->newest->newer = e;
	else
		l->oldest = e;
	l->newest = e;
}

static void entry_remove(struct rate_limiter *l, struct rate_entry *e)
{
	struct rate_entry **p = &l->buckets[bucket_of(l, e->scope, e->key)];
	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	list_unlink(l, e);
	l->count--;
	free(e);
}

static struct rate_entry *entry_add(struct rate_limiter *l, enum rate_scope scope, const char *key)
{
	struct rate_entry *e = xcalloc(1, sizeof(*e));
	size_t b;

	if (l->count >= l->max_keys)
		entry_remove(l, l->oldest);
	e->scope = scope;
	snprintf(e->key, sizeof(e->key), "%s", key);
	b = bucket_of(l, scope, e->key);
	e->next = l->buckets[b];
	l->buckets[b] = e;
	l->count++;
	return e;
}

struct rate_limiter *rate_limiter_new(const struct config_rate *anon,
				      const struct config_rate *user, size_t max_keys)
{
	struct rate_limiter *l;

	if (anon->limit <= 0 && user->limit <= 0)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->rates[RATE_ANON] = *anon;
	l->rates[RATE_USER] = *user;
	l->max_keys = max_keys ? max_keys : 1;
	l->nbuckets = 1;
	while (l->nbuckets < l->max_keys && l->nbuckets < MAX_BUCKETS)
		l->nbuckets <<= 1;
	l->buckets = xcalloc(l->nbuckets, sizeof(*l->buckets));
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->wake_lock, NULL);
	return l;
}

int rate_limiter_hit(struct rate_limiter *l, enum rate_scope scope, const char *key, long now,
		     struct rate_decision *out)
{
	const struct config_rate *rate;
	struct rate_entry *e;
	char cut[KEY_SIZE];

	if (!l || l->rates[scope].limit <= 0)
		return 0;
	rate = &l->rates[scope];
	snprintf(cut, sizeof(cut), "%s", key);
	long window_start = now - now % rate->period;

	pthread_mutex_lock(&l->lock);
	e = entry_find(l, scope, cut);
	if (!e)
		e = entry_add(l, scope, cut);
	else if (e->window_start != window_start)
		list_unlink(l, e);
	if (e->window_start != window_start || !e->window_end) {
		/* A new window: nothing counted in it yet, here or (as far as we know) elsewhere. */
		e->window_start = window_start;
		e->window_end = window_start + rate->period;
		e->shared = e->sending = e->local = 0;
		list_append(l, e);
	}
	long used = e->shared + e->sending + e->local;
	out->allowed = used < rate->limit;
	if (out->allowed) {
		e->local++;
		used++;
	}
	out->limit = rate->limit;
	out->remaining = used < rate->limit ? rate->limit - used : 0;
	out->reset = e->window_end - now > 0 ? e->window_end - now : 1;
	pthread_mutex_unlock(&l->lock);
	return 1;
}

size_t rate_limiter_key_count(struct rate_limiter *l)
{
	size_t n;
	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	n = l->count;
	pthread_mutex_unlock(&l->lock);
	return n;
}

/* Rows of one visit, and the copies of their keys the rows point into. */
struct visit {
	struct rate_count *rows;
	char (*keys)[KEY_SIZE];
	size_t n;
};

/*
 * Under the lock: drop ended windows, and move the unsent hits of the others
 * into v (sorted rows), marked as sending. Release v with visit_release().
 */
static void take_unsent(struct rate_limiter *l, long now, struct visit *v)
{
	struct rate_entry *e, *newer;
	size_t n = 0;

	for (e = l->oldest; e; e = newer) {
		newer = e->newer;
		if (e->window_end <= now)
			entry_remove(l, e);
		else if (e->local > 0)
			n++;
	}
	v->rows = xcalloc(n ? n : 1, sizeof(*v->rows));
	v->keys = xcalloc(n ? n : 1, sizeof(*v->keys));
	v->n = n;
	n = 0;
	for (e = l->oldest; e; e = e->newer) {
		if (e->local == 0)
			continue;
		memcpy(v->keys[n], e->key, KEY_SIZE);
		v->rows[n] = (struct rate_count){.scope = SCOPE_NAMES[e->scope],
						 .key = v->keys[n],
						 .window_start = e->window_start,
						 .window_end = e->window_end,
						 .hits = e->local};
		e->sending += e->local;
		e->local = 0;
		n++;
	}
	qsort(v->rows, v->n, sizeof(*v->rows), rate_count_compare);
}

static void visit_release(struct visit *v)
{
	free(v->rows);
	free(v->keys);
}

/*
 * Under the lock: the visit's outcome. Sent rows leave "sending"; with the
 * database's total they become the shared count, without it (a failure)
 * they go back to "local" for the next visit. An entry evicted or moved to a
 * new window meanwhile is left alone.
 */
static void settle(struct rate_limiter *l, const struct rate_count *rows, size_t n, int sent)
{
	for (size_t i = 0; i < n; i++) {
		enum rate_scope scope = strcmp(rows[i].scope, "user") ? RATE_ANON : RATE_USER;
		struct rate_entry *e = entry_find(l, scope, rows[i].key);
		if (!e || e->window_start != rows[i].window_start)
			continue;
		e->sending = e->sending > rows[i].hits ? e->sending - rows[i].hits : 0;
		if (!sent || rows[i].total < 0)
			e->local += rows[i].hits;
		else if (rows[i].total > e->shared)
			e->shared = rows[i].total;
	}
}

/* Send rows in batches on conn; APP_OK or the first error (later batches are not sent). */
static enum app_err send_rows(struct db_conn *conn, struct rate_count *rows, size_t n, size_t *sent)
{
	enum app_err err = APP_OK;
	*sent = 0;
	while (*sent < n && err == APP_OK) {
		size_t batch = n - *sent < SYNC_BATCH ? n - *sent : SYNC_BATCH;
		err = rate_count_add(conn, rows + *sent, batch);
		if (err == APP_OK)
			*sent += batch;
	}
	return err;
}

static void note_outcome(struct rate_limiter *l, enum app_err err)
{
	if (err != APP_OK && !l->db_down)
		log_warn("rate limits: cannot share the counts through the database; each server "
			 "counts on its own until it is back");
	else if (err == APP_OK && l->db_down)
		log_info("rate limits: counts shared through the database again");
	l->db_down = err != APP_OK;
}

enum app_err rate_limiter_sync(struct rate_limiter *l, struct db_pool *pool, long now)
{
	struct db_conn *conn = NULL;
	struct visit v;
	size_t sent = 0;
	enum app_err err;
	int prune;

	pthread_mutex_lock(&l->lock);
	take_unsent(l, now, &v);
	prune = now - l->last_prune >= PRUNE_EVERY;
	pthread_mutex_unlock(&l->lock);
	if (v.n == 0 && !prune) {
		/* Nothing counted since the last visit: no connection borrowed at all. */
		visit_release(&v);
		return APP_OK;
	}

	err = db_pool_acquire(pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK)
		err = send_rows(conn, v.rows, v.n, &sent);
	if (err == APP_OK && prune && (err = rate_count_prune(conn, now)) == APP_OK)
		l->last_prune = now;
	db_pool_release(pool, conn);

	pthread_mutex_lock(&l->lock);
	settle(l, v.rows, sent, 1);
	settle(l, v.rows + sent, v.n - sent, 0);
	note_outcome(l, err);
	pthread_mutex_unlock(&l->lock);
	visit_release(&v);
	return err;
}

/* Wait up to ms, or until asked to stop; 1 when asked to stop. */
static int wait_or_stop(struct rate_limiter *l, long ms)
{
	struct timespec until = deadline_after_ms(CLOCK_REALTIME, ms);
	int stopping;

	pthread_mutex_lock(&l->wake_lock);
	while (!l->stopping && pthread_cond_timedwait(&l->wake, &l->wake_lock, &until) == 0)
		;
	stopping = l->stopping;
	pthread_mutex_unlock(&l->wake_lock);
	return stopping;
}

static void *sync_main(void *arg)
{
	struct rate_limiter *l = arg;
	while (!wait_or_stop(l, l->sync_ms))
		rate_limiter_sync(l, l->pool, (long)time(NULL));
	/* The hits of the last interval still count on the other servers. */
	rate_limiter_sync(l, l->pool, (long)time(NULL));
	return NULL;
}

int rate_limiter_start(const struct config *cfg, struct db_pool *pool, struct rate_limiter **out)
{
	struct rate_limiter *l = rate_limiter_new(&cfg->rate_anon, &cfg->rate_user,
						  (size_t)cfg->rate_limit_max_keys);

	*out = NULL;
	if (!l)
		return 0;
	l->pool = pool;
	l->sync_ms = cfg->rate_limit_sync_ms;
	pthread_cond_init(&l->wake, NULL);
	if (pthread_create(&l->thread, NULL, sync_main, l)) {
		log_error("rate limits: cannot start the thread that shares the counts");
		pthread_cond_destroy(&l->wake);
		rate_limiter_free(l);
		return -1;
	}
	l->has_thread = 1;
	*out = l;
	return 0;
}

void rate_limiter_free(struct rate_limiter *l)
{
	if (!l)
		return;
	if (l->has_thread) {
		pthread_mutex_lock(&l->wake_lock);
		l->stopping = 1;
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->wake_lock);
		pthread_join(l->thread, NULL);
		pthread_cond_destroy(&l->wake);
	}
	while (l->oldest)
		entry_remove(l, l->oldest);
	free(l->buckets);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->wake_lock);
	free(l);
}
