/*
 * The flush's command and thread; see flush.h. The rows are models/flush.c's.
 */
#include "core/flush.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/util.h"
#include "models/flush.h"

/* Bounds each statement and the connection attempt of the thread's flush. */
#define FLUSH_STATEMENT_TIMEOUT_MS 30000

struct flusher {
	const struct config *cfg;
	long interval_ms;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* signalled to stop */
	int stopping;        /* under lock */
	int failing;         /* the last flush failed: said once in the log */
	pthread_t thread;
};

/* The limits of cfg's settings; stop (may be NULL) is asked between batches. */
static struct flush_limits limits_of(const struct config *cfg, int (*stop)(void *), void *arg)
{
	return (struct flush_limits){.session_idle = cfg->refresh_token_lifetime,
				     .failure_window = cfg->throttle_window,
				     .batch = FLUSH_BATCH,
				     .stop = stop,
				     .stop_arg = arg};
}

/*
 * Take the lock on conn, flush, give the lock back. *locked says whether the
 * lock was had (0: another flush holds it, nothing done). APP_OK or the
 * first error.
 */
static enum app_err flush_locked(struct db_conn *conn, const struct flush_limits *limits,
				 int *locked, struct flush_counts *counts)
{
	enum app_err err = flush_try_lock(conn, locked);

	*counts = (struct flush_counts){0};
	if (err != APP_OK || !*locked)
		return err;
	err = flush_expired(conn, limits, counts);
	/* On error the connection is closed next, which releases the lock too. */
	if (err == APP_OK)
		err = flush_unlock(conn);
	return err;
}

int flushexpiredtokens_command(const struct config *cfg, int argc, char **argv)
{
	struct flush_limits limits = limits_of(cfg, NULL, NULL);
	struct flush_counts counts;
	struct db_conn *conn = NULL;
	double started = now_ms();
	int locked = 0, ret = 1;

	(void)argv;
	if (argc) {
		fprintf(stderr, "usage: devsearch flushexpiredtokens\n");
		return 2;
	}
	if (db_conn_open(cfg->database_direct_url, &conn) != APP_OK) {
		fprintf(stderr, "error: cannot connect to the database (check DATABASE_URL)\n");
		goto out;
	}
	if (flush_locked(conn, &limits, &locked, &counts) != APP_OK) {
		fprintf(stderr, "error: the flush failed (see the log above); the batches before "
				"the failure are deleted\n");
		goto out;
	}
	if (!locked)
		printf("Another flush holds the lock (a server's or a command's); nothing "
		       "deleted.\n");
	else
		printf("Deleted in batches in %.1f s: %ld expired refresh tokens (%ld "
		       "blacklisted), "
		       "%ld ended sessions, %ld used or expired password resets, %ld sent emails, "
		       "%ld login failures.\n",
		       (now_ms() - started) / 1000.0, counts.tokens, counts.blacklisted,
		       counts.sessions, counts.resets, counts.emails, counts.failures);
	ret = 0;
out:
	db_conn_free(conn);
	return ret;
}

static int flusher_stopping(void *arg)
{
	struct flusher *f = arg;
	pthread_mutex_lock(&f->lock);
	int stopping = f->stopping;
	pthread_mutex_unlock(&f->lock);
	return stopping;
}

/* Wait ms, or until asked to stop; 1 when asked to stop. */
static int flusher_wait(struct flusher *f, long ms)
{
	struct timespec deadline = deadline_after_ms(CLOCK_MONOTONIC, ms);
	int stopping;

	pthread_mutex_lock(&f->lock);
	while (!f->stopping)
		if (pthread_cond_timedwait(&f->wake, &f->lock, &deadline) == ETIMEDOUT)
			break;
	stopping = f->stopping;
	pthread_mutex_unlock(&f->lock);
	return stopping;
}

static void flusher_run_once(struct flusher *f)
{
	struct flush_limits limits = limits_of(f->cfg, flusher_stopping, f);
	struct flush_counts c;
	struct db_conn *conn = NULL;
	enum app_err err;
	int locked = 0;

	err = db_conn_open_timeout(f->cfg->database_direct_url, FLUSH_STATEMENT_TIMEOUT_MS, &conn);
	if (err == APP_OK)
		err = flush_locked(conn, &limits, &locked, &c);
	db_conn_free(conn);
	if (err != APP_OK) {
		if (!f->failing)
			log_warn(
				"flush: cannot delete expired tokens and old rows; trying again in "
				"%ld s",
				f->interval_ms / 1000);
		f->failing = 1;
		return;
	}
	if (f->failing)
		log_info("flush: working again");
	f->failing = 0;
	if (!locked)
		log_msg(LOG_DEBUG, "flush: another server is flushing; skipped");
	else if (c.tokens || c.sessions || c.resets || c.emails || c.failures)
		log_info("flush: deleted %ld expired refresh tokens (%ld blacklisted), %ld ended "
			 "sessions, %ld password resets, %ld sent emails, %ld login failures",
			 c.tokens, c.blacklisted, c.sessions, c.resets, c.emails, c.failures);
}

static void *flusher_main(void *arg)
{
	struct flusher *f = arg;
	/* At once, then every interval: servers redeployed more often than that still flush. */
	do
		flusher_run_once(f);
	while (!flusher_wait(f, f->interval_ms));
	return NULL;
}

int flusher_start(const struct config *cfg, struct flusher **out)
{
	struct flusher *f;
	pthread_condattr_t attr;

	*out = NULL;
	if (cfg->flush_interval <= 0)
		return 0;
	f = xcalloc(1, sizeof(*f));
	f->cfg = cfg;
	f->interval_ms = cfg->flush_interval * 1000;
	pthread_mutex_init(&f->lock, NULL);
	/* deadline_after_ms(CLOCK_MONOTONIC): the condition must wait on that clock. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&f->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&f->thread, NULL, flusher_main, f)) {
		log_error("flush: cannot start the thread that deletes expired tokens");
		pthread_cond_destroy(&f->wake);
		pthread_mutex_destroy(&f->lock);
		free(f);
		return -1;
	}
	*out = f;
	return 0;
}

void flusher_stop(struct flusher *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = 1;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
