/*
 * The LISTEN thread of the response cache; see cache_listener.h. Owns one
 * database connection outside the pool and a pipe that wakes the thread to
 * stop; reaches the cache only through response_cache_invalidate(), _suspend()
 * and _resume().
 */
#include "core/cache_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "models/db.h"

#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 2000

struct cache_listener {
	char *database_url;           /* NULL: libpq's PG* variables */
	struct response_cache *cache; /* borrowed */
	struct db_conn *conn;         /* the thread's once started; NULL while down */
	int wake[2];                  /* a byte on wake[1] stops the thread */
	atomic_int connected;
	pthread_t thread;
};

/* Open the connection and LISTEN; the cache serves again from a newer generation. */
static int listener_connect(struct cache_listener *l)
{
	if (db_listen_open(l->database_url, CACHE_NOTIFY_CHANNEL, &l->conn) != APP_OK)
		return -1;
	response_cache_resume(l->cache);
	atomic_store(&l->connected, 1);
	return 0;
}

static void listener_lost(struct cache_listener *l)
{
	response_cache_suspend(l->cache);
	atomic_store(&l->connected, 0);
	db_conn_free(l->conn);
	l->conn = NULL;
	log_warn("cache: lost the database connection that listens for writes; cached answers "
		 "are not served until it is back");
}

/*
 * Wait for input on fd (-1: none) or for the stop byte, at most timeout_ms
 * (-1: no limit). Returns 1 when asked to stop, else 0.
 */
static int wait_for(struct cache_listener *l, int fd, int timeout_ms, int *readable)
{
	struct pollfd fds[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
	int n = poll(fds, fd >= 0 ? 2 : 1, timeout_ms);

	*readable = 0;
	if (n < 0 && errno != EINTR)
		log_error("cache: poll failed: %s", strerror(errno));
	if (n <= 0)
		return 0;
	if (fds[0].revents)
		return 1;
	*readable = fd >= 0 && fds[1].revents != 0;
	return 0;
}

static void *listener_main(void *arg)
{
	struct cache_listener *l = arg;
	int retry_ms = RETRY_FIRST_MS, readable;

	for (;;) {
		if (!l->conn) {
			if (wait_for(l, -1, retry_ms, &readable))
				break;
			if (listener_connect(l)) {
				retry_ms =
					retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry_ms * 2;
				continue;
			}
			log_info("cache: listening for writes again; cache resumed");
			retry_ms = RETRY_FIRST_MS;
		}
		int fd = db_conn_socket(l->conn);
		if (fd >= 0 && wait_for(l, fd, -1, &readable))
			break;
		if (fd >= 0 && !readable)
			continue;
		unsigned count;
		if (fd < 0 || db_notifications(l->conn, &count) != APP_OK)
			listener_lost(l);
		else if (count)
			response_cache_invalidate(l->cache);
	}
	return NULL;
}

int cache_listener_start(const char *database_url, struct response_cache *cache,
			 struct cache_listener **out)
{
	struct cache_listener *l = NULL;
	int ret = -1;

	*out = NULL;
	if (!cache)
		return 0;
	l = xcalloc(1, sizeof(*l));
	l->database_url = database_url ? xstrdup(database_url) : NULL;
	l->cache = cache;
	l->wake[0] = l->wake[1] = -1;
	atomic_init(&l->connected, 0);
	if (pipe(l->wake) || fcntl(l->wake[0], F_SETFD, FD_CLOEXEC) ||
	    fcntl(l->wake[1], F_SETFD, FD_CLOEXEC)) {
		log_error("cache: cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	/* Suspended until LISTEN is in place: writes made before would go unnoticed. */
	response_cache_suspend(cache);
	if (listener_connect(l))
		log_warn("cache: cannot listen for writes yet; cached answers are not served until "
			 "the database can be reached");
	if (pthread_create(&l->thread, NULL, listener_main, l)) {
		log_error("cache: cannot start the listener thread");
		goto out;
	}
	*out = l;
	l = NULL;
	ret = 0;
out:
	if (l) {
		db_conn_free(l->conn);
		if (l->wake[0] >= 0) {
			close(l->wake[0]);
			close(l->wake[1]);
		}
		free(l->database_url);
		free(l);
	}
	return ret;
}

int cache_listener_connected(struct cache_listener *listener)
{
	return listener ? atomic_load(&listener->connected) : 0;
}

void cache_listener_stop(struct cache_listener *listener)
{
	if (!listener)
		return;
	while (write(listener->wake[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(listener->thread, NULL);
	db_conn_free(listener->conn);
	close(listener->wake[0]);
	close(listener->wake[1]);
	free(listener->database_url);
	free(listener);
}
