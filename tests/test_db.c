/*
 * The statement layer on its own: batches (db_exec_many) against the test
 * database, their failures, and a connection lost between two batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/db.h"
#include "support.h"

static const char SQL_NUMBER[] = "SELECT $1::int + 1 AS n";
static const char SQL_WORD[] = "SELECT upper($1::text) AS w";
static const char SQL_PID[] = "SELECT pg_backend_pid()";
static const char SQL_KILL[] = "SELECT pg_terminate_backend($1::int)";
static const char SQL_TX[] = "SELECT txid_current()";

static struct db_conn *open_conn(void)
{
	struct db_conn *conn = NULL;
	ck_assert_int_eq(db_conn_open(test_env("DATABASE_URL"), &conn), APP_OK);
	return conn;
}

/* Run NUMBER(n) and WORD(w) as one batch; APP_OK checks the answers. */
static enum app_err number_and_word(struct db_conn *conn, const char *n, const char *w,
				    const char *want_n, const char *want_w)
{
	PGresult *a = (PGresult *)1, *b = (PGresult *)1;
	const char *p1[] = {n}, *p2[] = {w};
	const struct db_statement batch[] = {
		{SQL_NUMBER, 1, p1, &a},
		{SQL_WORD, 1, p2, &b},
	};
	enum app_err err = db_exec_many(conn, batch, 2);
	if (err == APP_OK) {
		ck_assert_str_eq(PQgetvalue(a, 0, 0), want_n);
		ck_assert_str_eq(PQgetvalue(b, 0, 0), want_w);
	} else {
		ck_assert_ptr_null(a);
		ck_assert_ptr_null(b);
	}
	PQclear(a);
	PQclear(b);
	return err;
}

START_TEST(batch_answers_in_order_in_one_round_trip)
{
	struct db_conn *conn = open_conn();
	for (int i = 0; i < 3; i++) {
		unsigned long trips = db_round_trip_count(conn);
		unsigned long statements = db_statement_count(conn);
		ck_assert_int_eq(number_and_word(conn, "41", "go", "42", "GO"), APP_OK);
		/* Also the first time, when both are prepared inside the batch. */
		ck_assert_uint_eq(db_round_trip_count(conn) - trips, 1);
		ck_assert_uint_eq(db_statement_count(conn) - statements, 2);
	}
	/* The connection is out of pipeline mode: a plain statement works. */
	PGresult *res = NULL;
	const char *p[] = {"1"};
	ck_assert_int_eq(db_exec(conn, SQL_NUMBER, 1, p, &res), APP_OK);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "2");
	PQclear(res);
	db_conn_free(conn);
}
END_TEST

START_TEST(failed_statement_fails_the_batch_and_leaves_the_connection_usable)
{
	/* Fresh connections: the failure lands while the statements are being prepared. */
	for (int warm = 0; warm < 2; warm++) {
		struct db_conn *conn = open_conn();
		if (warm)
			ck_assert_int_eq(number_and_word(conn, "1", "a", "2", "A"), APP_OK);
		/* First statement fails: the second is skipped by the server. */
		ck_assert_int_eq(number_and_word(conn, "x", "b", NULL, NULL), APP_ERR_INVALID);
		ck_assert_int_eq(number_and_word(conn, "2", "c", "3", "C"), APP_OK);
		/* Second one fails after the first succeeded: no result leaks out. */
		ck_assert_int_eq(number_and_word(conn, "2147483647", "d", NULL, NULL),
				 APP_ERR_INVALID);
		ck_assert_int_eq(number_and_word(conn, "5", "e", "6", "E"), APP_OK);
		db_conn_free(conn);
	}
}
END_TEST

START_TEST(same_statement_twice_in_a_batch)
{
	struct db_conn *conn = open_conn();
	PGresult *a = NULL, *b = NULL;
	const char *p1[] = {"1"}, *p2[] = {"10"};
	const struct db_statement batch[] = {
		{SQL_NUMBER, 1, p1, &a},
		{SQL_NUMBER, 1, p2, &b},
		{SQL_WORD, 1, p1, NULL}, /* result discarded */
	};
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(db_exec_many(conn, batch, 3), APP_OK);
		ck_assert_str_eq(PQgetvalue(a, 0, 0), "2");
		ck_assert_str_eq(PQgetvalue(b, 0, 0), "11");
		PQclear(a);
		PQclear(b);
	}
	db_conn_free(conn);
}
END_TEST

START_TEST(batch_outside_a_transaction_is_retried_on_a_new_connection)
{
	struct db_conn *conn = open_conn(), *killer = open_conn();
	PGresult *res = NULL;

	ck_assert_int_eq(number_and_word(conn, "1", "a", "2", "A"), APP_OK);
	ck_assert_int_eq(db_exec(conn, SQL_PID, 0, NULL, &res), APP_OK);
	const char *pid[] = {PQgetvalue(res, 0, 0)};
	ck_assert_int_eq(db_exec(killer, SQL_KILL, 1, pid, NULL), APP_OK);
	PQclear(res);
	/* The server has closed it; the batch notices, reconnects, prepares again. */
	ck_assert_int_eq(number_and_word(conn, "7", "z", "8", "Z"), APP_OK);

	/* Inside a transaction a lost connection is an error: nothing is retried. */
	ck_assert_int_eq(db_begin(conn), APP_OK);
	ck_assert_int_eq(db_exec(conn, SQL_PID, 0, NULL, &res), APP_OK);
	const char *pid2[] = {PQgetvalue(res, 0, 0)};
	ck_assert_int_eq(db_exec(killer, SQL_KILL, 1, pid2, NULL), APP_OK);
	PQclear(res);
	ck_assert_int_eq(number_and_word(conn, "7", "z", NULL, NULL), APP_ERR_UNAVAILABLE);
	db_rollback(conn);
	ck_assert_int_eq(number_and_word(conn, "8", "y", "9", "Y"), APP_OK);
	db_conn_free(killer);
	db_conn_free(conn);
}
END_TEST

START_TEST(batch_joins_the_open_transaction)
{
	struct db_conn *conn = open_conn();
	PGresult *before = NULL, *a = NULL, *b = NULL;
	const struct db_statement batch[] = {
		{SQL_TX, 0, NULL, &a},
		{SQL_TX, 0, NULL, &b},
	};
	ck_assert_int_eq(db_begin(conn), APP_OK);
	ck_assert_int_eq(db_exec(conn, SQL_TX, 0, NULL, &before), APP_OK);
	ck_assert_int_eq(db_exec_many(conn, batch, 2), APP_OK);
	ck_assert_str_eq(PQgetvalue(a, 0, 0), PQgetvalue(before, 0, 0));
	ck_assert_str_eq(PQgetvalue(b, 0, 0), PQgetvalue(before, 0, 0));
	PQclear(before);
	PQclear(a);
	PQclear(b);
	ck_assert_int_eq(db_commit(conn), APP_OK);
	db_conn_free(conn);
}
END_TEST

Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("batches");
	tcase_add_test(tc, batch_answers_in_order_in_one_round_trip);
	tcase_add_test(tc, failed_statement_fails_the_batch_and_leaves_the_connection_usable);
	tcase_add_test(tc, same_statement_twice_in_a_batch);
	tcase_add_test(tc, batch_outside_a_transaction_is_retried_on_a_new_connection);
	tcase_add_test(tc, batch_joins_the_open_transaction);
	suite_add_tcase(s, tc);
	return s;
}
