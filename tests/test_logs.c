/*
 * Request ids and logs (docs/configuration.md, "Logging"): the id chosen for
 * each request, echoed and written in its log lines; LOG_FORMAT=json; what a
 * database error logs; and what the log never holds (passwords, tokens,
 * bodies). The servers run as child processes, so their whole log is read.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/request_log.h"
#include "models/db.h"
#include "support.h"

/*
 * The earlier suites' failed logins from 127.0.0.1 are still in the shared
 * database's window: these tests' own logins must not be refused for them.
 */
#define LOGINS_UNTHROTTLED "LOGIN_THROTTLE_IP=1000000", "LOGIN_THROTTLE_USERNAME=1000000"

/* A devsearch serve child on a free port; its output is read by server_stop. */
struct child_server {
	pid_t pid;
	int fd;
	struct test_server ts; /* only base is set: enough for test_call and friends */
};

/* Start `serve` with env (NULL-terminated "NAME=value") on top of the test environment. */
static void server_spawn(struct child_server *c, const char *const *env)
{
	char port_arg[16], health[96];
	int port = test_free_port();

	memset(c, 0, sizeof(*c));
	snprintf(port_arg, sizeof(port_arg), "%d", port);
	snprintf(c->ts.base, sizeof(c->ts.base), "http://127.0.0.1:%d", port);
	snprintf(health, sizeof(health), "%s/api/health", c->ts.base);
	const char *serve[] = {"serve", "--port", port_arg, NULL};
	c->pid = test_spawn(serve, env, &c->fd);
	ck_assert_msg(test_wait_http_ok(health, 20000) == 0, "server did not come up");
}

/* Stop it (SIGTERM) and append all it wrote to log. */
static void server_stop(struct child_server *c, struct strbuf *log)
{
	ck_assert_int_eq(kill(c->pid, SIGTERM), 0);
	ck_assert_int_eq(test_finish(c->pid, c->fd, log), 0);
}

/* The line of log that contains needle (a new string, free()), or NULL. */
static char *line_with(const char *log, const char *needle)
{
	const char *hit = strstr(log, needle);
	if (!hit)
		return NULL;
	const char *start = hit;
	while (start > log && start[-1] != '\n')
		start--;
	return xstrndup(start, strcspn(start, "\n"));
}

static int is_hex32(const char *s)
{
	return s && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* The X-Request-Id of a GET of path sent with header (NULL: none); new string. */
static char *id_of_get(struct child_server *c, const char *path, const char *header)
{
	const char *headers[] = {header, NULL};
	struct test_response resp;
	test_call(&c->ts, "GET", path, header ? headers : NULL, NULL, &resp, NULL);
	char *id = test_response_header(&resp, REQUEST_ID_HEADER);
	test_response_release(&resp);
	ck_assert_ptr_nonnull(id);
	return id;
}

START_TEST(request_id_is_kept_only_when_valid)
{
	char out[REQUEST_ID_SIZE], first[REQUEST_ID_SIZE], longest[LOG_REQUEST_ID_MAX + 2];

	request_id_choose("f0e1d2c3-Abc_42.x~!\"\\", out);
	ck_assert_str_eq(out, "f0e1d2c3-Abc_42.x~!\"\\");
	memset(longest, 'a', LOG_REQUEST_ID_MAX);
	longest[LOG_REQUEST_ID_MAX] = '\0';
	request_id_choose(longest, out);
	ck_assert_str_eq(out, longest);
	/* 129 characters, a space, a control character, non-ASCII, empty, none. */
	longest[LOG_REQUEST_ID_MAX] = 'a';
	longest[LOG_REQUEST_ID_MAX + 1] = '\0';
	const char *refused[] = {longest, "two words", "tab\there", "del\x7f", "caf\xc3\xa9", ""};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		request_id_choose(refused[i], out);
		ck_assert_msg(is_hex32(out), "\"%s\" gave \"%s\"", refused[i], out);
	}
	request_id_choose(NULL, first);
	request_id_choose(NULL, out);
	ck_assert(is_hex32(first) && is_hex32(out));
	ck_assert_str_ne(first, out);
}
END_TEST

START_TEST(statement_labels_name_the_table_only)
{
	static const struct {
		const char *sql, *label;
	} cases[] = {
		{"INSERT INTO refresh_tokens (jti, user_id) VALUES ($1, $2)",
		 "INSERT INTO refresh_tokens"},
		{"update users SET password = $2 WHERE id = $1", "UPDATE users"},
		{"DELETE FROM sessions WHERE id = $1", "DELETE FROM sessions"},
		{"SELECT id, to_char(created AT TIME ZONE 'UTC from x', 'YYYY') FROM projects p "
		 "JOIN users u ON true",
		 "SELECT ... FROM projects"},
		{"WITH t AS (SELECT unnest($1::text[]) AS name) INSERT INTO tags (name) SELECT "
		 "name "
		 "FROM t",
		 "WITH ... INTO tags"},
		{"SELECT 1", "SELECT"},
		{"BEGIN; SET LOCAL statement_timeout = 5000", "BEGIN"},
		{"   ", "(empty)"},
	};
	char out[96];
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		db_statement_label(cases[i].sql, out, sizeof(out));
		ck_assert_str_eq(out, cases[i].label);
	}
}
END_TEST

START_TEST(request_ids_are_echoed_and_logged)
{
	static const char ORIGIN[] = "http://app.example";
	const char *env[] = {"LOG_LEVEL=info", "CORS_ALLOWED_ORIGINS=http://app.example",
			     "METRICS=on", NULL};
	struct child_server c;
	struct strbuf log = STRBUF_INIT;
	char header[256], *id, *line;

	server_spawn(&c, env);
	/* A valid incoming id is kept: on a 200, a 404 and a CORS preflight. */
	id = id_of_get(&c, "/api/health", "X-Request-Id: client-id-0001");
	ck_assert_str_eq(id, "client-id-0001");
	free(id);
	/* The second GET of a public list is the response cache's: it has its own id too. */
	id = id_of_get(&c, "/api/tags", "X-Request-Id: client-id-cache-1");
	ck_assert_str_eq(id, "client-id-cache-1");
	free(id);
	id = id_of_get(&c, "/api/tags", "X-Request-Id: client-id-cache-2");
	ck_assert_str_eq(id, "client-id-cache-2");
	free(id);
	{
		struct test_response resp;
		ck_assert_int_eq(test_call(&c.ts, "GET", "/metrics", NULL, NULL, &resp, NULL), 200);
		ck_assert_msg(
			!strstr(strbuf_str(&resp.body), "devsearch_response_cache_hits_total 0\n"),
			"the second GET was not a cache hit");
		ck_assert_ptr_nonnull(
			strstr(strbuf_str(&resp.body), "devsearch_response_cache_hits_total "));
		test_response_release(&resp);
	}
	id = id_of_get(&c, "/api/no-such-route", "X-Request-Id: client-id-0002");
	ck_assert_str_eq(id, "client-id-0002");
	free(id);
	{
		const char *headers[] = {"Origin: http://app.example",
					 "Access-Control-Request-Method: GET",
					 "X-Request-Id: client-id-0003", NULL};
		struct test_response resp;
		ck_assert_int_eq(
			test_call(&c.ts, "OPTIONS", "/api/projects", headers, NULL, &resp, NULL),
			200);
		id = test_response_header(&resp, REQUEST_ID_HEADER);
		ck_assert_str_eq(id, "client-id-0003");
		free(id);
		/* A browser's script may send its own id. */
		char *allowed = test_response_header(&resp, "Access-Control-Allow-Headers");
		ck_assert_ptr_nonnull(allowed);
		ck_assert_ptr_nonnull(strstr(allowed, "x-request-id"));
		free(allowed);
		test_response_release(&resp);
	}
	/* A CORS answer lets the browser's script read the id. */
	{
		char origin_header[64];
		snprintf(origin_header, sizeof(origin_header), "Origin: %s", ORIGIN);
		const char *headers[] = {origin_header, NULL};
		struct test_response resp;
		ck_assert_int_eq(test_call(&c.ts, "GET", "/api/health", headers, NULL, &resp, NULL),
				 200);
		char *expose = test_response_header(&resp, "Access-Control-Expose-Headers");
		ck_assert_ptr_nonnull(expose);
		ck_assert_ptr_nonnull(strstr(expose, REQUEST_ID_HEADER));
		free(expose);
		test_response_release(&resp);
	}
	/* Unusable ids are replaced, each by a new one: too long, a space, non-ASCII, empty. */
	char *generated[5];
	snprintf(header, sizeof(header), "X-Request-Id: %0129d", 7);
	const char *unusable[] = {header, "X-Request-Id: two words", "X-Request-Id: caf\xc3\xa9",
				  "X-Request-Id: x\x7fy", NULL};
	for (size_t i = 0; i < 5; i++) {
		generated[i] = id_of_get(&c, "/api/health", unusable[i]);
		ck_assert_msg(is_hex32(generated[i]), "got \"%s\"", generated[i]);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(generated[i], generated[j]);
	}
	server_stop(&c, &log);

	line = line_with(strbuf_str(&log), "request_id=client-id-0001");
	ck_assert_msg(line, "no line with the id in:\n%s", strbuf_str(&log));
	ck_assert_ptr_nonnull(strstr(line, " INFO GET /api/health 200 "));
	ck_assert_ptr_nonnull(strstr(line, " user=- remote_addr=127.0.0.1"));
	free(line);
	line = line_with(strbuf_str(&log), "request_id=client-id-0002");
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "GET /api/no-such-route 404 "));
	free(line);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&log), "request_id=client-id-0003"));
	for (size_t i = 0; i < 5; i++) {
		snprintf(header, sizeof(header), "request_id=%s ", generated[i]);
		ck_assert_msg(strstr(strbuf_str(&log), header), "%s not logged", generated[i]);
		free(generated[i]);
	}
	strbuf_release(&log);
}
END_TEST

/*
 * Send request (raw bytes, as curl would not send them) to the server and
 * read the answer until it closes; returns the status or -1.
 */
static long raw_request(const struct child_server *c, const char *request)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	char answer[4096];
	size_t got = 0;
	ssize_t n;
	long status = -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert(fd >= 0);
	addr.sin_port = htons((uint16_t)atoi(strrchr(c->ts.base, ':') + 1));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	ck_assert(write(fd, request, strlen(request)) == (ssize_t)strlen(request));
	while (got < sizeof(answer) - 1 &&
	       (n = read(fd, answer + got, sizeof(answer) - 1 - got)) > 0)
		got += (size_t)n;
	answer[got] = '\0';
	close(fd);
	if (!strncmp(answer, "HTTP/1.1 ", 9))
		status = strtol(answer + 9, NULL, 10);
	return status;
}

/* The field name of j as a string, failing the test if it is not one. */
static const char *string_field(json_t *j, const char *name)
{
	const char *value = json_string_value(json_object_get(j, name));
	ck_assert_msg(value, "no string \"%s\"", name);
	return value;
}

/* 2026-11-21T10:14:18.123Z */
static int is_rfc3339_ms_utc(const char *t)
{
	static const char SHAPE[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	if (strlen(t) != sizeof(SHAPE) - 1)
		return 0;
	for (size_t i = 0; SHAPE[i]; i++)
		if (SHAPE[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != SHAPE[i])
			return 0;
	return 1;
}

/*
 * A trigger that fails inserts of projects titled "logfault-...", so nothing
 * else sharing the database is touched.
 */
static void fault_trigger(int add)
{
	if (!add) {
		free(test_sql("DROP TRIGGER IF EXISTS log_fault ON projects", NULL, NULL));
		free(test_sql("DROP FUNCTION IF EXISTS log_fault()", NULL, NULL));
		return;
	}
	free(test_sql("CREATE OR REPLACE FUNCTION log_fault() RETURNS trigger LANGUAGE plpgsql AS "
		      "$$ BEGIN IF NEW.title LIKE 'logfault-%' THEN RAISE EXCEPTION 'log test "
		      "fault' USING DETAIL = 'secret detail ' || NEW.title; END IF; RETURN NEW; "
		      "END $$",
		      NULL, NULL));
	free(test_sql("CREATE TRIGGER log_fault BEFORE INSERT ON projects FOR EACH ROW EXECUTE "
		      "FUNCTION log_fault()",
		      NULL, NULL));
}

START_TEST(json_lines_have_every_field)
{
	/* A dead SMTP server: the welcome email is not printed among the log lines. */
	const char *env[] = {"LOG_LEVEL=info",     "LOG_FORMAT=json",
			     "EMAIL_BACKEND=smtp", "SMTP_URL=smtp://127.0.0.1:9",
			     LOGINS_UNTHROTTLED,   NULL};
	const char *fault_headers[] = {NULL, "Content-Type: application/json",
				       "X-Request-Id: fault-request-1", NULL};
	struct child_server c;
	struct test_account a;
	struct strbuf log = STRBUF_INIT;
	char *access = NULL, *refresh = NULL, title[64], body[128];
	struct test_response resp;
	size_t access_lines = 0, lines = 0;
	int saw_user = 0, saw_odd_path = 0, saw_fault = 0;

	server_spawn(&c, env);
	test_register(&c.ts, &a, "logjson");
	ck_assert_int_eq(test_login(&c.ts, a.username, TEST_PASSWORD, &access, &refresh), 200);
	ck_assert_int_eq(
		test_call(&c.ts, "GET", "/api/users/me", test_bearer(access), NULL, &resp, NULL),
		200);
	test_response_release(&resp);
	/* A quote, a backslash, a tab and a byte that is not UTF-8 in the path: still one line. */
	ck_assert_int_eq(raw_request(&c, "GET /api/x\"y\\z\tw\xff HTTP/1.1\r\nHost: "
					 "127.0.0.1\r\nConnection: close\r\n\r\n"),
			 404);
	/* A database error inside a request. */
	fault_trigger(1);
	test_unique(title, sizeof(title), "logfault-");
	snprintf(body, sizeof(body), "{\"title\":\"%s\"}", title);
	fault_headers[0] = test_bearer(access)[0];
	long status = test_call(&c.ts, "POST", "/api/projects", fault_headers, body, &resp, NULL);
	fault_trigger(0);
	test_response_release(&resp);
	ck_assert_int_eq(status, 500);
	server_stop(&c, &log);

	const char *p = strbuf_str(&log);
	while (*p) {
		size_t len = strcspn(p, "\n");
		json_error_t error;
		json_t *j = json_loadb(p, len, 0, &error);
		ck_assert_msg(json_is_object(j), "not a JSON object (%s): %.*s", error.text,
			      (int)len, p);
		lines++;
		ck_assert(is_rfc3339_ms_utc(string_field(j, "time")));
		const char *level = string_field(j, "level");
		ck_assert(strstr("debug info warn error", level));
		const char *msg = string_field(j, "msg");
		if (json_object_get(j, "status")) {
			access_lines++;
			string_field(j, "method");
			const char *path = string_field(j, "path");
			ck_assert(json_is_integer(json_object_get(j, "status")));
			ck_assert(json_is_number(json_object_get(j, "ms")));
			ck_assert_str_eq(string_field(j, "remote_addr"), "127.0.0.1");
			ck_assert(is_hex32(string_field(j, "request_id")) ||
				  !strcmp(string_field(j, "request_id"), "fault-request-1"));
			json_t *j_user = json_object_get(j, "user_id");
			ck_assert(j_user && (json_is_null(j_user) || json_is_string(j_user)));
			if (!strcmp(path, "/api/users/me")) {
				ck_assert_str_eq(json_string_value(j_user), a.user_id);
				saw_user = 1;
			} else if (!strcmp(path, "/api/health")) {
				ck_assert(json_is_null(j_user));
			}
			if (!strcmp(path, "/api/x\"y\\z\tw\xef\xbf\xbd"))
				saw_odd_path = 1;
		}
		/* The failing statement: its name, SQLSTATE and message; never the DETAIL. */
		if (strstr(msg, "log test fault")) {
			ck_assert_str_eq(level, "error");
			ck_assert_msg(strstr(msg, "\"INSERT INTO projects\""), "%s", msg);
			ck_assert_msg(strstr(msg, "SQLSTATE P0001"), "%s", msg);
			ck_assert_str_eq(string_field(j, "request_id"), "fault-request-1");
			saw_fault = 1;
		}
		json_decref(j);
		p += len;
		if (*p == '\n')
			p++;
	}
	ck_assert(access_lines >= 5 && lines > access_lines);
	ck_assert_msg(saw_user && saw_odd_path && saw_fault,
		      "user %d, odd path %d, fault %d in:\n%s", saw_user, saw_odd_path, saw_fault,
		      strbuf_str(&log));
	ck_assert_ptr_null(strstr(strbuf_str(&log), "secret detail"));
	free(access);
	free(refresh);
	strbuf_release(&log);
}
END_TEST

/* Fails the test when any piece of secret (a JWT: each part of it) is in log. */
static void assert_not_logged(const char *log, const char *what, const char *secret)
{
	ck_assert_msg(!strstr(log, secret), "%s in the log", what);
	if (!strchr(secret, '.'))
		return;
	char *copy = xstrdup(secret), *save = NULL;
	for (char *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		/* The header part is the same in every token we sign: not a secret. */
		if (part == copy)
			continue;
		ck_assert_msg(!strstr(log, part), "part of the %s in the log", what);
	}
	free(copy);
}

START_TEST(log_holds_no_password_token_or_body)
{
	const char *env[] = {"LOG_LEVEL=debug", LOGINS_UNTHROTTLED, NULL};
	static const char NEW_PASSWORD[] = "N3w-pass-phrase-for-the-log-test";
	struct child_server c;
	struct test_account a;
	struct strbuf log = STRBUF_INIT;
	char *access = NULL, *refresh = NULL, *access2 = NULL, *refresh2 = NULL, *body;
	json_t *j = NULL;

	server_spawn(&c, env);
	test_register(&c.ts, &a, "logsecret");
	ck_assert_int_eq(test_login(&c.ts, a.username, TEST_PASSWORD, &access, &refresh), 200);
	ck_assert_int_eq(test_login(&c.ts, a.username, "Wr0ng-password-guess", NULL, NULL), 401);
	ck_assert_int_eq(test_post(&c.ts, "/api/users/token/refresh", NULL,
				   json_pack("{s:s}", "refresh", refresh), &j),
			 200);
	char *rotated = xstrdup(json_string_value(json_object_get(j, "refresh")));
	char *access_refreshed = xstrdup(json_string_value(json_object_get(j, "access")));
	json_decref(j);
	ck_assert_int_eq(test_post(&c.ts, "/api/users/password/change", test_bearer(access),
				   json_pack("{s:s,s:s}", "old_password", TEST_PASSWORD,
					     "new_password", NEW_PASSWORD),
				   NULL),
			 200);
	ck_assert_int_eq(test_login(&c.ts, a.username, NEW_PASSWORD, &access2, &refresh2), 200);
	server_stop(&c, &log);

	const char *text = strbuf_str(&log);
	/* The requests were logged, as the user that made them: this log is the right one. */
	ck_assert_ptr_nonnull(strstr(text, "POST /api/users/password/change 200"));
	ck_assert_ptr_nonnull(strstr(text, a.user_id));
	assert_not_logged(text, "password", TEST_PASSWORD);
	assert_not_logged(text, "new password", NEW_PASSWORD);
	assert_not_logged(text, "wrong password", "Wr0ng-password-guess");
	assert_not_logged(text, "access token", access);
	assert_not_logged(text, "refresh token", refresh);
	assert_not_logged(text, "rotated refresh token", rotated);
	assert_not_logged(text, "refreshed access token", access_refreshed);
	assert_not_logged(text, "new access token", access2);
	assert_not_logged(text, "new refresh token", refresh2);
	assert_not_logged(text, "request body", "\"old_password\"");
	assert_not_logged(text, "request body", "\"refresh\":");
	assert_not_logged(text, "Authorization header", "Bearer");
	body = strbuf_detach(&log);
	free(body);
	free(access);
	free(refresh);
	free(access2);
	free(refresh2);
	free(rotated);
	free(access_refreshed);
}
END_TEST

Suite *logs_suite(void)
{
	Suite *s = suite_create("logs");
	TCase *tc = tcase_create("logs");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, request_id_is_kept_only_when_valid);
	tcase_add_test(tc, statement_labels_name_the_table_only);
	tcase_add_test(tc, request_ids_are_echoed_and_logged);
	tcase_add_test(tc, json_lines_have_every_field);
	tcase_add_test(tc, log_holds_no_password_token_or_body);
	suite_add_tcase(s, tc);
	return s;
}
