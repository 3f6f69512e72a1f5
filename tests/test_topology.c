/*
 * Database topology: the server behind PgBouncer in transaction pooling mode
 * (scripts/test.sh starts one in front of the test cluster), and read
 * replicas.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/metrics.h"
#include "models/db.h"

#include "support.h"

/* Run one admin console command on the PgBouncer of bouncer_url (SHOW, KILL, RESUME ...). */
static PGresult *bouncer_admin(const char *bouncer_url, const char *command)
{
	char admin[256];
	const char *port = strrchr(bouncer_url, ':');
	ck_assert_ptr_nonnull(port);
	snprintf(admin, sizeof(admin), "host=127.0.0.1 port=%d dbname=pgbouncer user=postgres",
		 atoi(port + 1));
	PGconn *conn = PQconnectdb(admin);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
	PGresult *res = PQexec(conn, command);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK ||
			      PQresultStatus(res) == PGRES_COMMAND_OK,
		      "%s: %s", command, PQresultErrorMessage(res));
	PQfinish(conn);
	return res;
}

/* PgBouncer's count of transactions it ran on devsearch_test (admin console, SHOW STATS). */
static long bouncer_transactions(const char *bouncer_url)
{
	PGresult *res = bouncer_admin(bouncer_url, "SHOW STATS");
	long total = -1;
	int db = PQfnumber(res, "database"), xact = PQfnumber(res, "total_xact_count");
	for (int i = 0; i < PQntuples(res); i++)
		if (!strcmp(PQgetvalue(res, i, db), "devsearch_test"))
			total = atol(PQgetvalue(res, i, xact));
	PQclear(res);
	return total;
}

struct reader {
	const char *base;
	const char *project_path;
	int failures;
};

/* Lists and details at once, so the pool's connections meet different server connections. */
static void *read_concurrently(void *arg)
{
	struct reader *r = arg;
	char url[512];
	for (int i = 0; i < 15; i++) {
		struct test_response resp;
		snprintf(url, sizeof(url), "%s%s", r->base,
			 i % 2 ? r->project_path : "/api/projects?search=pooler");
		if (test_http("GET", url, NULL, NULL, 0, &resp) || resp.status != 200) {
			fprintf(stderr, "GET %s: %ld %s\n", url, resp.status,
				strbuf_str(&resp.body));
			r->failures++;
		}
		test_response_release(&resp);
	}
	return NULL;
}

/*
 * Prepared statements off, statements through PgBouncer, migrations' lock and
 * the cache listener on the direct connection: register, log in, create,
 * list, detail, vote, all answered, with more pooled connections than
 * PgBouncer has server connections (with DB_PREPARED_STATEMENTS=on this test
 * fails: a named statement is missing on, or already taken by another client
 * of, the server connection a transaction lands on).
 */
START_TEST(serves_the_main_flow_through_pgbouncer_in_transaction_mode)
{
	const char *bouncer = test_env("DEVSEARCH_TEST_PGBOUNCER_URL");
	struct test_server ts;
	struct test_account owner, voter;
	char *access = NULL, *refresh = NULL, *voter_access = NULL, *voter_refresh = NULL;
	char path[256];
	json_t *j = NULL;

	setenv("DATABASE_DIRECT_URL", test_env("DATABASE_URL"), 1);
	setenv("DATABASE_URL", bouncer, 1);
	setenv("DB_PREPARED_STATEMENTS", "off", 1);
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
	/* More client connections than PgBouncer's server connections (scripts/pgbouncer.sh). */
	setenv("HTTP_THREADS", "6", 1);
	setenv("DB_POOL_SIZE", "6", 1);
	setenv("RESPONSE_CACHE_BYTES", "0", 1);
	long before = bouncer_transactions(bouncer);
	test_server_start(&ts, NULL, 0);
	ck_assert_int_eq(ts.cfg.db_prepared_statements, 0);

	test_register(&ts, &owner, "bouncer");
	test_register(&ts, &voter, "bvoter");
	ck_assert_int_eq(test_login(&ts, owner.username, TEST_PASSWORD, &access, &refresh), 200);
	ck_assert_int_eq(
		test_login(&ts, voter.username, TEST_PASSWORD, &voter_access, &voter_refresh), 200);
	ck_assert_int_eq(test_post(&ts, "/api/projects", test_bearer(access),
				   json_pack("{s:s, s:[s, s]}", "title", "Through the pooler",
					     "tags", "pgbouncer", "c"),
				   &j),
			 201);
	char *id = xstrdup(json_string_value(json_object_get(j, "id")));
	json_decref(j);
	/* Several rounds, so the statements meet different server connections. */
	for (int round = 0; round < 5; round++) {
		struct test_response resp;
		snprintf(path, sizeof(path), "/api/projects?search=%s&page_size=%d", "pooler",
			 5 + round);
		ck_assert_int_eq(test_call(&ts, "GET", path, NULL, NULL, &resp, &j), 200);
		ck_assert_int_ge(json_integer_value(json_object_get(j, "count")), 1);
		json_decref(j);
		test_response_release(&resp);
		snprintf(path, sizeof(path), "/api/projects/%s", id);
		ck_assert_int_eq(test_call(&ts, "GET", path, NULL, NULL, &resp, &j), 200);
		json_decref(j);
		test_response_release(&resp);
	}
	struct reader readers[6];
	pthread_t threads[6];
	for (int i = 0; i < 6; i++) {
		readers[i] = (struct reader){ts.base, path, 0};
		ck_assert_int_eq(pthread_create(&threads[i], NULL, read_concurrently, &readers[i]),
				 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_int_eq(readers[i].failures, 0);
	}
	snprintf(path, sizeof(path), "/api/projects/%s/vote", id);
	ck_assert_int_eq(test_post(&ts, path, test_bearer(voter_access),
				   json_pack("{s:s}", "value", "up"), &j),
			 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "vote_total")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "vote_ratio")), 100);
	json_decref(j);
	/* The traffic really went through the pooler. */
	ck_assert_int_gt(bouncer_transactions(bouncer), before + 10);

	free(id);
	free(access);
	free(refresh);
	free(voter_access);
	free(voter_refresh);
	test_server_stop(&ts);
}
END_TEST

/* GET path anonymously; fails the test unless 200. */
static void get_ok(struct test_server *ts, const char *path, const char *const *headers)
{
	struct test_response resp;
	ck_assert_int_eq(test_call(ts, "GET", path, headers, NULL, &resp, NULL), 200);
	test_response_release(&resp);
}

/*
 * The "replica" is a second pool on the test database itself (not a
 * standby: pg_last_wal_replay_lsn() is NULL there), so each pool's
 * statement counter shows where a request went.
 */
static void replica_up(struct test_server *ts, const char *replica_url)
{
	setenv("DATABASE_REPLICA_URL", replica_url, 1);
	setenv("RESPONSE_CACHE_BYTES", "0", 1);
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
	test_server_start(ts, NULL, 0);
	ck_assert_ptr_nonnull(ts->app.replica);
}

START_TEST(reads_go_to_the_replica_writes_and_the_writer_to_the_primary)
{
	struct test_server ts;
	struct test_account a;
	struct test_response resp;
	char *access = NULL, *refresh = NULL, path[256], lsn_header[64];
	json_t *j = NULL;

	replica_up(&ts, test_env("DATABASE_URL"));
	test_register(&ts, &a, "replica");
	ck_assert_int_eq(test_login(&ts, a.username, TEST_PASSWORD, &access, &refresh), 200);

	unsigned long primary = db_pool_statement_count(ts.app.pool);
	unsigned long replica = db_pool_statement_count(ts.app.replica);
	get_ok(&ts, "/api/projects", NULL);
	get_ok(&ts, "/api/tags", NULL);
	ck_assert_uint_eq(db_pool_statement_count(ts.app.pool), primary);
	ck_assert_uint_gt(db_pool_statement_count(ts.app.replica), replica);

	/* A write: on the primary, and the answer says where it ended. */
	replica = db_pool_statement_count(ts.app.replica);
	ck_assert_int_eq(test_call(&ts, "POST", "/api/projects", test_bearer(access),
				   "{\"title\": \"Replica\"}", &resp, &j),
			 201);
	ck_assert_uint_eq(db_pool_statement_count(ts.app.replica), replica);
	char *lsn = test_response_header(&resp, "X-Primary-LSN");
	char *cookie = test_response_header(&resp, "Set-Cookie");
	ck_assert_ptr_nonnull(lsn);
	ck_assert_ptr_nonnull(cookie);
	ck_assert_msg(strstr(cookie, "primary_lsn=") == cookie && strstr(cookie, "Max-Age=30"),
		      "%s", cookie);
	snprintf(path, sizeof(path), "/api/projects/%s",
		 json_string_value(json_object_get(j, "id")));
	json_decref(j);
	test_response_release(&resp);

	/* The writer's next read: the replica has not replayed it, so the primary answers. */
	snprintf(lsn_header, sizeof(lsn_header), "X-Primary-LSN: %s", lsn);
	const char *with_lsn[] = {lsn_header, NULL};
	primary = db_pool_statement_count(ts.app.pool);
	get_ok(&ts, path, with_lsn);
	ck_assert_uint_gt(db_pool_statement_count(ts.app.pool), primary);
	/* The same through the cookie. */
	snprintf(lsn_header, sizeof(lsn_header), "Cookie: primary_lsn=%s", lsn);
	primary = db_pool_statement_count(ts.app.pool);
	get_ok(&ts, path, with_lsn);
	ck_assert_uint_gt(db_pool_statement_count(ts.app.pool), primary);
	/* A malformed position is not an error, only no proof: the primary answers. */
	const char *bad_lsn[] = {"X-Primary-LSN: 1/x'; --", NULL};
	primary = db_pool_statement_count(ts.app.pool);
	get_ok(&ts, path, bad_lsn);
	ck_assert_uint_gt(db_pool_statement_count(ts.app.pool), primary);
	/* Without it, another client reads from the replica. */
	primary = db_pool_statement_count(ts.app.pool);
	get_ok(&ts, path, NULL);
	ck_assert_uint_eq(db_pool_statement_count(ts.app.pool), primary);

	free(lsn);
	free(cookie);
	free(access);
	free(refresh);
	test_server_stop(&ts);
}
END_TEST

/* A replica down at start, then one that goes away and comes back (through PgBouncer). */
START_TEST(reads_fall_back_to_the_primary_when_the_replica_is_down)
{
	struct test_server ts;
	const char *bouncer = test_env("DEVSEARCH_TEST_PGBOUNCER_URL");

	replica_up(&ts, "postgresql:///devsearch_test?host=/nonexistent&user=postgres");
	unsigned long primary = db_pool_statement_count(ts.app.pool);
	get_ok(&ts, "/api/projects", NULL);
	ck_assert_uint_gt(db_pool_statement_count(ts.app.pool), primary);
	test_server_stop(&ts);

	setenv("DB_PREPARED_STATEMENTS", "off", 1);
	replica_up(&ts, bouncer);
	unsigned long replica = db_pool_statement_count(ts.app.replica);
	get_ok(&ts, "/api/projects", NULL);
	ck_assert_uint_gt(db_pool_statement_count(ts.app.replica), replica);

	/* The replica goes: its connections are closed and new ones refused. */
	PQclear(bouncer_admin(bouncer, "DISABLE devsearch_test"));
	PQclear(bouncer_admin(bouncer, "KILL devsearch_test"));
	PQclear(bouncer_admin(bouncer, "RESUME devsearch_test"));
	for (int i = 0; i < 5; i++) {
		primary = db_pool_statement_count(ts.app.pool);
		get_ok(&ts, "/api/projects", NULL);
		ck_assert_uint_gt(db_pool_statement_count(ts.app.pool), primary);
	}
	/* It comes back: tried again after a few seconds. */
	PQclear(bouncer_admin(bouncer, "ENABLE devsearch_test"));
	int back = 0;
	for (int i = 0; i < 80 && !back; i++) {
		replica = db_pool_statement_count(ts.app.replica);
		get_ok(&ts, "/api/projects", NULL);
		back = db_pool_statement_count(ts.app.replica) > replica;
		usleep(100 * 1000);
	}
	ck_assert_msg(back, "reads never went back to the replica");
	test_server_stop(&ts);
}
END_TEST

/*
 * Hold an ACCESS EXCLUSIVE lock on projects on a direct connection (caller
 * lock_release()s it), so that a read of that table waits in PostgreSQL
 * until the test lets it go: a statement the test can catch mid-request.
 */
static PGconn *lock_projects(void)
{
	PGconn *conn = PQconnectdb(test_env("DATABASE_URL"));
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
	PGresult *res = PQexec(conn, "BEGIN; LOCK TABLE projects IN ACCESS EXCLUSIVE MODE");
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
	PQclear(res);
	return conn;
}

static void lock_release(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
	PQfinish(conn);
}

/* Wait (at most 10 s) until a statement of the server waits for the lock of lock_projects(). */
static void wait_for_lock_waiter(void)
{
	for (int i = 0; i < 200; i++) {
		char *n = test_sql_value(test_env("DATABASE_URL"),
					 "SELECT count(*) FROM pg_stat_activity "
					 "WHERE wait_event_type = 'Lock' "
					 "AND datname = current_database()");
		int waiting = n && atoi(n) > 0;
		free(n);
		if (waiting)
			return;
		usleep(50 * 1000);
	}
	ck_abort_msg("no statement ever waited for the lock");
}

/* One GET in a thread of its own, so that the test can break things while it runs. */
struct pending_get {
	char url[512];
	struct test_response resp;
	int sent; /* 0 when an answer came */
	pthread_t thread;
};

static void *pending_get_run(void *arg)
{
	struct pending_get *g = arg;
	g->sent = test_http("GET", g->url, NULL, NULL, 0, &g->resp);
	return NULL;
}

static void pending_get_start(struct pending_get *g, const struct test_server *ts, const char *path)
{
	snprintf(g->url, sizeof(g->url), "%s%s", ts->base, path);
	ck_assert_int_eq(pthread_create(&g->thread, NULL, pending_get_run, g), 0);
}

static void pending_get_finish(struct pending_get *g)
{
	pthread_join(g->thread, NULL);
	ck_assert_int_eq(g->sent, 0);
}

static unsigned long read_retries(const struct test_server *ts)
{
	return metrics_counter_value(ts->app.metrics, METRIC_REPLICA_READ_RETRIES);
}

/*
 * The replica (through PgBouncer) goes away while a list read waits on it:
 * the read is answered 200 by the primary, never 503, and counted. The
 * pooler closes the replica connection mid-statement (KILL) and refuses a new
 * one (DISABLE), so the statement layer's own retry on a fresh connection
 * fails too: only the dispatcher's second run, on the primary, can answer.
 */
START_TEST(a_read_whose_replica_dies_mid_request_is_answered_by_the_primary)
{
	const char *bouncer = test_env("DEVSEARCH_TEST_PGBOUNCER_URL");
	struct test_server ts;
	struct pending_get get;
	json_t *j;

	setenv("DB_PREPARED_STATEMENTS", "off", 1);
	setenv("METRICS", "on", 1);
	replica_up(&ts, bouncer);
	get_ok(&ts, "/api/projects?search=replica", NULL); /* the replica is up and used */
	unsigned long primary = db_pool_statement_count(ts.app.pool);

	PGconn *lock = lock_projects();
	pending_get_start(&get, &ts, "/api/projects?search=replica");
	wait_for_lock_waiter();
	/* Only the replica's read can be waiting: the primary has not been asked. */
	ck_assert_uint_eq(db_pool_statement_count(ts.app.pool), primary);
	PQclear(bouncer_admin(bouncer, "DISABLE devsearch_test"));
	PQclear(bouncer_admin(bouncer, "KILL devsearch_test"));
	PQclear(bouncer_admin(bouncer, "RESUME devsearch_test"));
	lock_release(lock);
	pending_get_finish(&get);
	PQclear(bouncer_admin(bouncer, "ENABLE devsearch_test"));

	ck_assert_msg(get.resp.status == 200, "%ld %s", get.resp.status,
		      strbuf_str(&get.resp.body));
	j = json_loads(strbuf_str(&get.resp.body), 0, NULL);
	ck_assert_ptr_nonnull(json_object_get(j, "results"));
	ck_assert_ptr_null(json_object_get(j, "code"));
	json_decref(j);
	ck_assert_uint_gt(db_pool_statement_count(ts.app.pool), primary);
	ck_assert_uint_eq(read_retries(&ts), 1);
	/* The dispatcher's headers survive the discarded answer, once each. */
	char *id = test_response_header(&get.resp, "X-Request-Id");
	char *nosniff = test_response_header(&get.resp, "X-Content-Type-Options");
	ck_assert_ptr_nonnull(id);
	ck_assert_str_eq(nosniff, "nosniff");
	ck_assert_ptr_null(strstr(strstr(strbuf_str(&get.resp.headers), "Content-Type:") + 1,
				  "Content-Type:"));
	free(id);
	free(nosniff);
	test_response_release(&get.resp);
	test_server_stop(&ts);
}
END_TEST

/*
 * Answers that are the replica's own are kept: a 404 (no such project), and
 * a 503 from a statement timeout (a busy replica, not a failed one: running
 * it again on the primary would only double the load). The replica here is
 * direct, so DB_TIMEOUT is its statement_timeout.
 */
START_TEST(a_replica_answer_that_is_not_a_failure_is_not_run_again)
{
	struct test_server ts;
	struct test_response resp;
	struct pending_get get;

	setenv("METRICS", "on", 1);
	setenv("DB_TIMEOUT", "1", 1);
	replica_up(&ts, test_env("DATABASE_URL"));
	unsigned long primary = db_pool_statement_count(ts.app.pool);
	unsigned long replica = db_pool_statement_count(ts.app.replica);
	ck_assert_int_eq(test_call(&ts, "GET", "/api/projects/00000000-0000-4000-8000-000000000000",
				   NULL, NULL, &resp, NULL),
			 404);
	test_response_release(&resp);
	ck_assert_uint_gt(db_pool_statement_count(ts.app.replica), replica);
	ck_assert_uint_eq(db_pool_statement_count(ts.app.pool), primary);

	PGconn *lock = lock_projects();
	pending_get_start(&get, &ts, "/api/projects");
	pending_get_finish(&get); /* DB_TIMEOUT ends the wait */
	lock_release(lock);
	ck_assert_msg(get.resp.status == 503, "%ld %s", get.resp.status,
		      strbuf_str(&get.resp.body));
	test_response_release(&get.resp);
	ck_assert_uint_eq(db_pool_statement_count(ts.app.pool), primary);
	ck_assert_uint_eq(read_retries(&ts), 0);
	test_server_stop(&ts);
}
END_TEST

/*
 * The dispatcher's rule alone, with a handler that claims its replica
 * connection failed and answers 503 every time: a read runs it twice (never
 * more) and the first answer's headers are gone; a write runs it once.
 */
static atomic_int failing_runs;

static void replica_fails(struct http_ctx *ctx)
{
	int run = atomic_fetch_add(&failing_runs, 1) + 1;
	char text[16];
	snprintf(text, sizeof(text), "%d", run);
	http_set_header(ctx, run == 1 ? "X-First-Run" : "X-Run", text);
	ctx->replica_failed = 1;
	http_reply_app_error(ctx, APP_ERR_UNAVAILABLE);
}

static const struct route failing_routes[] = {
	{"GET", "/api/test/replica-fails", replica_fails, ROUTE_PUBLIC},
	{"POST", "/api/test/replica-fails", replica_fails, ROUTE_PUBLIC},
};

START_TEST(a_read_is_run_again_at_most_once_and_a_write_never)
{
	struct test_server ts;
	struct test_response resp;

	setenv("METRICS", "on", 1);
	setenv("DATABASE_REPLICA_URL", test_env("DATABASE_URL"), 1);
	setenv("RESPONSE_CACHE_BYTES", "0", 1);
	test_server_start(&ts, failing_routes, 2);

	atomic_store(&failing_runs, 0);
	ck_assert_int_eq(test_call(&ts, "GET", "/api/test/replica-fails", NULL, NULL, &resp, NULL),
			 503);
	ck_assert_int_eq(atomic_load(&failing_runs), 2);
	char *first = test_response_header(&resp, "X-First-Run");
	char *second = test_response_header(&resp, "X-Run");
	char *id = test_response_header(&resp, "X-Request-Id");
	ck_assert_ptr_null(first);
	ck_assert_str_eq(second, "2");
	ck_assert_ptr_nonnull(id);
	free(second);
	free(id);
	test_response_release(&resp);
	ck_assert_uint_eq(read_retries(&ts), 1);

	atomic_store(&failing_runs, 0);
	ck_assert_int_eq(
		test_call(&ts, "POST", "/api/test/replica-fails", TEST_JSON, "{}", &resp, NULL),
		503);
	ck_assert_int_eq(atomic_load(&failing_runs), 1);
	test_response_release(&resp);
	ck_assert_uint_eq(read_retries(&ts), 1);
	test_server_stop(&ts);
}
END_TEST

Suite *topology_suite(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("pgbouncer");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, serves_the_main_flow_through_pgbouncer_in_transaction_mode);
	suite_add_tcase(s, tc);
	tc = tcase_create("replica");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reads_go_to_the_replica_writes_and_the_writer_to_the_primary);
	tcase_add_test(tc, reads_fall_back_to_the_primary_when_the_replica_is_down);
	tcase_add_test(tc, a_read_whose_replica_dies_mid_request_is_answered_by_the_primary);
	tcase_add_test(tc, a_replica_answer_that_is_not_a_failure_is_not_run_again);
	tcase_add_test(tc, a_read_is_run_again_at_most_once_and_a_write_never);
	suite_add_tcase(s, tc);
	return s;
}
