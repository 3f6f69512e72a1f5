/*
 * `devsearch flushexpiredtokens` and serve's periodic flush, on fresh
 * databases: rows on both sides of every boundary, exactly the right ones
 * left, nothing more on a second run, tokens still working (refresh, reuse
 * detection) afterwards, the advisory lock making a second flush wait its
 * turn, and the serve thread flushing every FLUSH_INTERVAL.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "models/flush.h"
#include "support.h"

/* "DATABASE_URL=<a fresh, migrated database>" in env_db; the URL itself is returned (free()). */
static char *fresh_db(char *env_db, size_t size)
{
	char *url = test_db_create();
	const char *args[] = {"migrate", NULL};
	snprintf(env_db, size, "DATABASE_URL=%s", url);
	const char *env[] = {env_db, NULL};
	struct strbuf out = STRBUF_INIT;
	ck_assert_msg(test_run(args, env, &out) == 0, "migrate: %s", strbuf_str(&out));
	strbuf_release(&out);
	return url;
}

/* Run sql on url with up to two parameters (NULL ends them); its first value (NULL: no row). */
static char *sql_on(const char *url, const char *sql, const char *p1, const char *p2)
{
	const char *params[] = {p1, p2, NULL};
	return test_sql_params(url, sql, params);
}

/* The number sql answers (-1: no row). */
static long count_on(const char *url, const char *sql, const char *p1)
{
	char *value = sql_on(url, sql, p1, NULL);
	long n = value ? atol(value) : -1;
	free(value);
	return n;
}

/* Run `flushexpiredtokens` on env_db; its output in out. */
static void run_flush(const char *env_db, struct strbuf *out)
{
	const char *args[] = {"flushexpiredtokens", NULL};
	const char *env[] = {env_db, NULL};
	strbuf_reset(out);
	ck_assert_msg(test_run(args, env, out) == 0, "flush failed: %s", strbuf_str(out));
}

/* The number just before word in the summary line. */
static long summary_count(const char *line, const char *word)
{
	const char *p = strstr(line, word);
	ck_assert_msg(p != NULL, "no \"%s\" in %s", word, line);
	while (p > line && p[-1] == ' ')
		p--;
	while (p > line && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return atol(p);
}

static void assert_summary(const char *line, long tokens, long blacklisted, long sessions,
			   long resets, long emails, long failures)
{
	ck_assert_msg(strstr(line, "Deleted in batches") != NULL, "%s", line);
	ck_assert_int_eq(summary_count(line, "expired refresh tokens"), tokens);
	ck_assert_int_eq(summary_count(line, "blacklisted)"), blacklisted);
	ck_assert_int_eq(summary_count(line, "ended sessions"), sessions);
	ck_assert_int_eq(summary_count(line, "used or expired"), resets);
	ck_assert_int_eq(summary_count(line, "sent emails"), emails);
	ck_assert_int_eq(summary_count(line, "login failures"), failures);
}

/* A session of user_id last used `age` ago (an interval), revoked or not; its id (free()). */
static char *add_session(const char *url, const char *user_id, const char *age, int revoked)
{
	char *id = sql_on(url,
			  revoked ? "INSERT INTO login_sessions (user_id, last_used, revoked_at) "
				    "VALUES ($1, now() - $2::interval, now()) RETURNING id"
				  : "INSERT INTO login_sessions (user_id, last_used) "
				    "VALUES ($1, now() - $2::interval) RETURNING id",
			  user_id, age);
	ck_assert_ptr_nonnull(id);
	return id;
}

/* A refresh token jti of session_id expiring at now() + in (an interval, may be negative). */
static void add_token(const char *url, const char *jti, const char *session_id, const char *in,
		      int blacklisted)
{
	const char *params[] = {jti, session_id, in, NULL};
	free(test_sql_params(url,
			     "INSERT INTO refresh_tokens (jti, user_id, session_id, expires_at) "
			     "SELECT $1, user_id, id, now() + $3::interval FROM login_sessions "
			     "WHERE id = $2 RETURNING jti",
			     params));
	if (blacklisted)
		free(sql_on(url, "INSERT INTO blacklisted_tokens (jti) VALUES ($1) RETURNING jti",
			    jti, NULL));
}

static int token_exists(const char *url, const char *jti)
{
	return count_on(url, "SELECT count(*) FROM refresh_tokens WHERE jti = $1", jti) == 1;
}

static int row_exists(const char *url, const char *table_sql, const char *id)
{
	return count_on(url, table_sql, id) == 1;
}

static const char SESSION_BY_ID[] = "SELECT count(*) FROM login_sessions WHERE id = $1";
static const char RESET_BY_HASH[] = "SELECT count(*) FROM password_resets WHERE token_hash = $1";
static const char EMAIL_BY_SUBJECT[] = "SELECT count(*) FROM email_outbox WHERE subject = $1";
static const char REVOKED_SESSIONS[] =
	"SELECT count(*) FROM login_sessions WHERE revoked_at IS NOT NULL";
static const char FAILURE_BY_KEY[] = "SELECT count(*) FROM login_failures WHERE key = $1";

static long refresh_with(struct test_server *ts, const char *refresh, char **new_refresh)
{
	json_t *j = NULL;
	long status = test_post(ts, "/api/users/token/refresh", NULL,
				json_pack("{s:s}", "refresh", refresh), &j);
	if (new_refresh)
		*new_refresh = status == 200
				       ? xstrdup(json_string_value(json_object_get(j, "refresh")))
				       : NULL;
	json_decref(j);
	return status;
}

START_TEST(flush_deletes_exactly_what_is_no_longer_needed)
{
	char env_db[512];
	char *url = fresh_db(env_db, sizeof(env_db));
	struct strbuf out = STRBUF_INIT;
	struct test_server ts;
	struct test_member m;
	char *rotated_child = NULL, *after = NULL;

	/* A real login, rotated once: the first token is rotated, not expired. */
	setenv("DATABASE_URL", url, 1);
	test_server_start(&ts, NULL, 0);
	test_member_new(&ts, &m, "flush");
	ck_assert_int_eq(refresh_with(&ts, m.refresh, &rotated_child), 200);
	const char *uid = m.a.user_id;

	/* Sessions and tokens (REFRESH_TOKEN_LIFETIME 1 day, the token grace 5 minutes). */
	char *s_expired = add_session(url, uid, "2 days", 0);
	add_token(url, "t-expired-blacklisted", s_expired, "-1 day", 1);
	add_token(url, "t-expired", s_expired, "-1 hour", 0);
	char *s_revoked_empty = add_session(url, uid, "2 days", 1);
	char *s_recent_empty = add_session(url, uid, "1 hour", 0);
	char *s_live = add_session(url, uid, "2 days", 0);
	add_token(url, "t-live", s_live, "1 day", 0);
	add_token(url, "t-live-blacklisted", s_live, "1 day", 1);
	add_token(url, "t-expired-10-min", s_live, "-10 minutes", 1);
	add_token(url, "t-in-grace", s_live, "-1 minute", 1);

	/* Password resets: used (not expired), expired (unused), live. */
	free(sql_on(url,
		    "INSERT INTO password_resets (user_id, token_hash, expires_at, used_at) VALUES "
		    "($1, 'h-used', now() + interval '1 hour', now()), "
		    "($1, 'h-expired', now() - interval '1 second', NULL), "
		    "($1, 'h-live', now() + interval '1 hour', NULL) RETURNING id",
		    uid, NULL));
	/* Outbox: sent 8 days ago, sent 6 days ago, never sent although 30 days old. */
	free(sql_on(url,
		    "INSERT INTO email_outbox (to_address, subject, body, created, sent_at) VALUES "
		    "('a@example.com', 'sent-old', 'b', now() - interval '9 days', "
		    "now() - interval '8 days'), "
		    "('a@example.com', 'sent-recent', 'b', now() - interval '6 days', "
		    "now() - interval '6 days'), "
		    "('a@example.com', 'unsent-old', 'b', now() - interval '30 days', NULL) "
		    "RETURNING id",
		    NULL, NULL));
	/* Login failures (LOGIN_THROTTLE_WINDOW 15 minutes). */
	free(sql_on(url,
		    "INSERT INTO login_failures (scope, key, failed_at) VALUES "
		    "('ip', 'f-old', now() - interval '2 hours'), "
		    "('username', 'f-old', now() - interval '16 minutes'), "
		    "('ip', 'f-recent', now() - interval '1 minute') RETURNING id",
		    NULL, NULL));
	long tokens_before = count_on(url, "SELECT count(*) FROM refresh_tokens", NULL);
	long sessions_before = count_on(url, "SELECT count(*) FROM login_sessions", NULL);
	long emails_before = count_on(url, "SELECT count(*) FROM email_outbox", NULL);

	run_flush(env_db, &out);
	assert_summary(strbuf_str(&out), 3, 2, 2, 2, 1, 2);

	ck_assert(!token_exists(url, "t-expired-blacklisted"));
	ck_assert(!token_exists(url, "t-expired"));
	ck_assert(!token_exists(url, "t-expired-10-min"));
	ck_assert(token_exists(url, "t-live"));
	ck_assert(token_exists(url, "t-live-blacklisted"));
	ck_assert(token_exists(url, "t-in-grace"));
	ck_assert_int_eq(count_on(url, "SELECT count(*) FROM refresh_tokens", NULL),
			 tokens_before - 3);
	/* The blacklist rows of the deleted tokens went with them; the others stay. */
	ck_assert_int_eq(count_on(url,
				  "SELECT count(*) FROM blacklisted_tokens b WHERE NOT "
				  "EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.jti = b.jti)",
				  NULL),
			 0);
	ck_assert_int_eq(count_on(url,
				  "SELECT count(*) FROM blacklisted_tokens WHERE jti IN "
				  "('t-live-blacklisted', 't-in-grace')",
				  NULL),
			 2);

	ck_assert(!row_exists(url, SESSION_BY_ID, s_expired));
	ck_assert(!row_exists(url, SESSION_BY_ID, s_revoked_empty));
	ck_assert(row_exists(url, SESSION_BY_ID, s_recent_empty));
	ck_assert(row_exists(url, SESSION_BY_ID, s_live));
	ck_assert_int_eq(count_on(url, "SELECT count(*) FROM login_sessions", NULL),
			 sessions_before - 2);

	ck_assert(!row_exists(url, RESET_BY_HASH, "h-used"));
	ck_assert(!row_exists(url, RESET_BY_HASH, "h-expired"));
	ck_assert(row_exists(url, RESET_BY_HASH, "h-live"));

	ck_assert(!row_exists(url, EMAIL_BY_SUBJECT, "sent-old"));
	ck_assert(row_exists(url, EMAIL_BY_SUBJECT, "sent-recent"));
	ck_assert(row_exists(url, EMAIL_BY_SUBJECT, "unsent-old"));
	ck_assert_int_eq(count_on(url, "SELECT count(*) FROM email_outbox", NULL),
			 emails_before - 1);

	ck_assert_int_eq(count_on(url, FAILURE_BY_KEY, "f-old"), 0);
	ck_assert_int_eq(count_on(url, FAILURE_BY_KEY, "f-recent"), 1);

	/* Nothing left to delete. */
	run_flush(env_db, &out);
	assert_summary(strbuf_str(&out), 0, 0, 0, 0, 0, 0);

	/* The live token still refreshes; the rotated one is still caught as reused. */
	ck_assert_int_eq(refresh_with(&ts, rotated_child, &after), 200);
	ck_assert_int_eq(count_on(url, REVOKED_SESSIONS, NULL), 0);
	ck_assert_int_eq(refresh_with(&ts, m.refresh, NULL), 401);
	ck_assert_int_eq(count_on(url, REVOKED_SESSIONS, NULL), 1);
	ck_assert_int_eq(refresh_with(&ts, after, NULL), 401);

	test_server_stop(&ts);
	test_member_free(&m);
	free(rotated_child);
	free(after);
	free(s_expired);
	free(s_revoked_empty);
	free(s_recent_empty);
	free(s_live);
	strbuf_release(&out);
	free(url);
}
END_TEST

START_TEST(a_second_flush_waits_for_its_turn)
{
	char env_db[512];
	char *url = fresh_db(env_db, sizeof(env_db));
	struct strbuf out = STRBUF_INIT;

	char *uid = sql_on(url,
			   "INSERT INTO users (username, email, password) "
			   "VALUES ('f', 'f@example.com', 'x') RETURNING id",
			   NULL, NULL);
	char *s = add_session(url, uid, "2 days", 0);
	add_token(url, "t-expired", s, "-1 day", 0);

	/* Another flush (this test's session) holds the lock: nothing is deleted. */
	PGconn *holder = PQconnectdb(url);
	ck_assert_int_eq(PQstatus(holder), CONNECTION_OK);
	PQclear(PQexec(holder, "SELECT pg_advisory_lock(7240113022)"));
	run_flush(env_db, &out);
	ck_assert_msg(strstr(strbuf_str(&out), "Another flush holds the lock") != NULL, "%s",
		      strbuf_str(&out));
	ck_assert(token_exists(url, "t-expired"));

	/* Released: the next one flushes. */
	PQfinish(holder);
	run_flush(env_db, &out);
	assert_summary(strbuf_str(&out), 1, 0, 1, 0, 0, 0);
	ck_assert(!token_exists(url, "t-expired"));

	free(s);
	free(uid);
	strbuf_release(&out);
	free(url);
}
END_TEST

/* Batches of one row: every kind takes several statements and the totals are the same. */
START_TEST(small_batches_delete_the_same_rows)
{
	char env_db[512];
	char *url = fresh_db(env_db, sizeof(env_db));
	struct db_conn *conn = NULL;
	struct flush_counts c;
	struct flush_limits limits = {.session_idle = 86400, .failure_window = 900, .batch = 1};

	char *uid = sql_on(url,
			   "INSERT INTO users (username, email, password) "
			   "VALUES ('f', 'f@example.com', 'x') RETURNING id",
			   NULL, NULL);
	char *s1 = add_session(url, uid, "2 days", 0);
	char *s2 = add_session(url, uid, "2 days", 1);
	add_token(url, "t-1", s1, "-1 day", 1);
	add_token(url, "t-2", s1, "-1 day", 0);
	add_token(url, "t-3", s2, "-2 days", 1);
	add_token(url, "t-live", s2, "1 day", 0);
	free(sql_on(url,
		    "INSERT INTO login_failures (scope, key, failed_at) SELECT 'ip', 'k', "
		    "now() - interval '1 hour' FROM generate_series(1, 5) RETURNING id",
		    NULL, NULL));

	ck_assert_int_eq(db_conn_open(url, &conn), APP_OK);
	ck_assert_int_eq(flush_expired(conn, &limits, &c), APP_OK);
	ck_assert_int_eq(c.tokens, 3);
	ck_assert_int_eq(c.blacklisted, 2);
	ck_assert_int_eq(c.sessions, 1);
	ck_assert_int_eq(c.failures, 5);
	ck_assert(token_exists(url, "t-live"));
	ck_assert(row_exists(url, SESSION_BY_ID, s2));
	ck_assert_int_eq(flush_expired(conn, &limits, &c), APP_OK);
	ck_assert_int_eq(c.tokens + c.sessions + c.resets + c.emails + c.failures, 0);

	db_conn_free(conn);
	free(s1);
	free(s2);
	free(uid);
	free(url);
}
END_TEST

START_TEST(serve_flushes_every_interval)
{
	char env_db[512], port_arg[16], health[64];
	char *url = fresh_db(env_db, sizeof(env_db));
	struct strbuf out = STRBUF_INIT;
	int port = test_free_port(), fd_out;
	struct timespec pause = {0, 100 * 1000 * 1000};

	char *uid = sql_on(url,
			   "INSERT INTO users (username, email, password) "
			   "VALUES ('f', 'f@example.com', 'x') RETURNING id",
			   NULL, NULL);
	char *s = add_session(url, uid, "1 hour", 0);
	add_token(url, "t-live", s, "1 day", 0);

	snprintf(port_arg, sizeof(port_arg), "%d", port);
	snprintf(health, sizeof(health), "http://127.0.0.1:%d/api/health", port);
	const char *serve[] = {"serve", "--port", port_arg, NULL};
	const char *env[] = {env_db, "FLUSH_INTERVAL=1", NULL};
	pid_t pid = test_spawn(serve, env, &fd_out);
	ck_assert_msg(test_wait_http_ok(health, 20000) == 0, "server did not come up");

	/* Expired after the start: gone within a few intervals, the live token kept. */
	add_token(url, "t-expired", s, "-1 day", 1);
	double deadline = now_ms() + 5000 * test_time_scale();
	while (token_exists(url, "t-expired") && now_ms() < deadline)
		nanosleep(&pause, NULL);
	ck_assert_msg(!token_exists(url, "t-expired"), "not flushed within 5 s");
	ck_assert(token_exists(url, "t-live"));
	ck_assert_int_eq(count_on(url, "SELECT count(*) FROM blacklisted_tokens", NULL), 0);

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(test_finish(pid, fd_out, &out), 0);
	free(s);
	free(uid);
	strbuf_release(&out);
	free(url);
}
END_TEST

START_TEST(flush_interval_setting)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	const char *const good[][2] = {{"0", "0"}, {"90", "90"}, {"2h", "7200"}};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		setenv("FLUSH_INTERVAL", good[i][0], 1);
		ck_assert_int_eq(config_load(&cfg, &errors), 0);
		ck_assert_int_eq(cfg.flush_interval, atol(good[i][1]));
		config_release(&cfg);
	}
	unsetenv("FLUSH_INTERVAL");
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(cfg.flush_interval, 3600);
	config_release(&cfg);
	setenv("FLUSH_INTERVAL", "-1", 1);
	ck_assert_int_eq(config_load(&cfg, &errors), -1);
	ck_assert_msg(strstr(strbuf_str(&errors), "FLUSH_INTERVAL") != NULL, "%s",
		      strbuf_str(&errors));
	config_release(&cfg);
	strbuf_release(&errors);
}
END_TEST

START_TEST(command_line)
{
	struct strbuf out = STRBUF_INIT;
	const char *top[] = {"--help", NULL};
	const char *help[] = {"flushexpiredtokens", "--help", NULL};
	const char *extra[] = {"flushexpiredtokens", "now", NULL};

	ck_assert_int_eq(test_run(top, NULL, &out), 0);
	ck_assert_msg(strstr(strbuf_str(&out), "flushexpiredtokens") != NULL, "%s",
		      strbuf_str(&out));
	strbuf_reset(&out);
	ck_assert_int_eq(test_run(help, NULL, &out), 0);
	ck_assert_msg(strstr(strbuf_str(&out), "FLUSH_INTERVAL") != NULL, "%s", strbuf_str(&out));
	strbuf_reset(&out);
	ck_assert_int_eq(test_run(extra, NULL, &out), 2);
	strbuf_release(&out);
}
END_TEST

Suite *flush_suite(void)
{
	Suite *s = suite_create("flush");
	TCase *tc = tcase_create("flush");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, flush_deletes_exactly_what_is_no_longer_needed);
	tcase_add_test(tc, a_second_flush_waits_for_its_turn);
	tcase_add_test(tc, small_batches_delete_the_same_rows);
	tcase_add_test(tc, flush_interval_setting);
	tcase_add_test(tc, command_line);
	tcase_add_test(tc, serve_flushes_every_interval);
	suite_add_tcase(s, tc);
	return s;
}
