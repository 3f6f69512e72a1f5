/*
 * Database topology: the server behind PgBouncer in transaction pooling mode
 * (scripts/test.sh starts one in front of the test cluster), and read
 * replicas.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	suite_add_tcase(s, tc);
	return s;
}
