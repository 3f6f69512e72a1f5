/*
 * Database topology: the server behind PgBouncer in transaction pooling mode
 * (scripts/test.sh starts one in front of the test cluster), and read
 * replicas.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* PgBouncer's count of transactions it ran on devsearch_test (admin console, SHOW STATS). */
static long bouncer_transactions(const char *bouncer_url)
{
	char admin[256];
	const char *port = strrchr(bouncer_url, ':');
	ck_assert_ptr_nonnull(port);
	snprintf(admin, sizeof(admin), "host=127.0.0.1 port=%d dbname=pgbouncer user=postgres",
		 atoi(port + 1));
	PGconn *conn = PQconnectdb(admin);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
	PGresult *res = PQexec(conn, "SHOW STATS");
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	long total = -1;
	int db = PQfnumber(res, "database"), xact = PQfnumber(res, "total_xact_count");
	for (int i = 0; i < PQntuples(res); i++)
		if (!strcmp(PQgetvalue(res, i, db), "devsearch_test"))
			total = atol(PQgetvalue(res, i, xact));
	PQclear(res);
	PQfinish(conn);
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

Suite *topology_suite(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("pgbouncer");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, serves_the_main_flow_through_pgbouncer_in_transaction_mode);
	suite_add_tcase(s, tc);
	return s;
}
