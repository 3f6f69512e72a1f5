/* Test support; see support.h. */
#include "support.h"

#include <curl/curl.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/metrics.h"
#include "api/routes.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/cache_listener.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "core/response_cache.h"
#include "core/server.h"
#include "models/db.h"

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
	strbuf_add(userdata, data, size * n);
	return size * n;
}

int test_http(const char *method, const char *url, const char *const *headers, const char *body,
	      size_t body_len, struct test_response *out)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *list = NULL;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	for (; headers && *headers; headers++)
		list = curl_slist_append(list, *headers);
	/* curl adds these by itself unless told otherwise; the tests set them explicitly. */
	list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out->headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out->body);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
	return rc == CURLE_OK ? 0 : -1;
}

void test_response_release(struct test_response *resp)
{
	strbuf_release(&resp->headers);
	strbuf_release(&resp->body);
}

char *test_response_header(const struct test_response *resp, const char *name)
{
	const char *p = strbuf_str(&resp->headers);
	size_t len = strlen(name);
	while (p && *p) {
		if (!strncasecmp(p, name, len) && p[len] == ':') {
			const char *v = p + len + 1;
			while (*v == ' ')
				v++;
			return xstrndup(v, strcspn(v, "\r\n"));
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

double test_time_scale(void)
{
	const char *text = getenv("DEVSEARCH_TEST_TIME_SCALE");
	double scale = text ? strtod(text, NULL) : 1.0;
	return scale >= 1.0 ? scale : 1.0;
}

const char *test_env(const char *name)
{
	const char *value = getenv(name);
	ck_assert_msg(value && *value, "%s is not set: run the tests through make test", name);
	return value;
}

static PGconn *connect_or_fail(const char *url)
{
	PGconn *conn = PQconnectdb(url);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "cannot connect to %s: %s", url,
		      PQerrorMessage(conn));
	return conn;
}

char *test_db_create(void)
{
	static int counter;
	const char *admin_url = test_env("DEVSEARCH_TEST_ADMIN_URL");
	char name[64], sql[128];
	struct strbuf url = STRBUF_INIT;

	snprintf(name, sizeof(name), "t_%ld_%d", (long)getpid(), ++counter);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	PGconn *conn = connect_or_fail(admin_url);
	PGresult *res = PQexec(conn, sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
		      PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(conn);

	/* The admin URL is postgresql:///postgres?host=...: swap the database name. */
	const char *slash = strstr(admin_url, "///");
	const char *query = strchr(admin_url, '?');
	ck_assert(slash && query);
	strbuf_add(&url, admin_url, (size_t)(slash - admin_url) + 3);
	strbuf_addstr(&url, name);
	strbuf_addstr(&url, query);
	return strbuf_detach(&url);
}

char *test_sql_value(const char *url, const char *sql)
{
	PGconn *conn = connect_or_fail(url);
	PGresult *res = PQexec(conn, sql);
	char *value = NULL;
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQresultErrorMessage(res));
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		value = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return value;
}

char *test_sql_params(const char *url, const char *sql, const char *const *params)
{
	int n = 0;
	while (params[n])
		n++;
	PGconn *conn = connect_or_fail(url);
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	char *value = NULL;
	ExecStatusType status = PQresultStatus(res);
	ck_assert_msg(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK, "%s: %s", sql,
		      PQresultErrorMessage(res));
	if (status == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		value = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return value;
}

char *test_sql(const char *sql, const char *p1, const char *p2)
{
	const char *params[] = {p1, p2, NULL};
	return test_sql_params(test_env("DATABASE_URL"), sql, params);
}

pid_t test_spawn(const char *const *args, const char *const *env, int *out_fd)
{
	const char *bin = test_env("DEVSEARCH_BIN");
	int fds[2];
	ck_assert(pipe(fds) == 0);
	pid_t pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		size_t n = 0;
		while (args[n])
			n++;
		char **argv = xcalloc(n + 2, sizeof(*argv));
		argv[0] = xstrdup(bin);
		for (size_t i = 0; i < n; i++)
			argv[i + 1] = xstrdup(args[i]);
		for (; env && *env; env++)
			putenv(xstrdup(*env));
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(bin, argv);
		_exit(127);
	}
	close(fds[1]);
	*out_fd = fds[0];
	return pid;
}

int test_finish(pid_t pid, int out_fd, struct strbuf *output)
{
	char chunk[4096];
	ssize_t n;
	int status = 0;
	while ((n = read(out_fd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && output)
			strbuf_add(output, chunk, (size_t)n);
	close(out_fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int test_run(const char *const *args, const char *const *env, struct strbuf *output)
{
	int fd;
	pid_t pid = test_spawn(args, env, &fd);
	return test_finish(pid, fd, output);
}

static int pg_ctl(const char *action)
{
	struct strbuf cmd = STRBUF_INIT;
	strbuf_addf(&cmd, "'%s' %s '%s' %s >/dev/null 2>&1", test_env("DEVSEARCH_TEST_PGCTL"),
		    action, test_env("DEVSEARCH_TEST_PGDIR"),
		    !strcmp(action, "start") ? "devsearch_test" : "");
	int rc = system(strbuf_str(&cmd));
	strbuf_release(&cmd);
	return rc;
}

int test_pg_stop(void)
{
	return pg_ctl("stop");
}

int test_pg_start(void)
{
	return pg_ctl("start");
}

int test_free_port(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(fd >= 0);
	ck_assert(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
	close(fd);
	return ntohs(addr.sin_port);
}

int test_wait_http_ok(const char *url, int timeout_ms)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		struct test_response resp;
		int ok = test_http("GET", url, NULL, NULL, 0, &resp) == 0 && resp.status == 200;
		test_response_release(&resp);
		if (ok)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -1;
}

void test_server_start(struct test_server *ts, const struct route *extra, size_t n)
{
	struct strbuf errors = STRBUF_INIT;
	memset(ts, 0, sizeof(*ts));
	ck_assert_msg(config_load(&ts->cfg, &errors) == 0, "%s", strbuf_str(&errors));
	ck_assert_msg(token_keys_load(&ts->cfg, &ts->keys, &errors) == 0, "%s",
		      strbuf_str(&errors));
	strbuf_release(&errors);
	log_set_level((enum log_level)ts->cfg.log_level);
	log_set_format((enum log_format)ts->cfg.log_format);
	ts->app.cfg = &ts->cfg;
	ts->app.keys = ts->keys;
	ts->app.hasher = password_hasher_new(
		(unsigned)ts->cfg.argon2_memory_kib, (unsigned)ts->cfg.argon2_time_cost,
		(unsigned)ts->cfg.argon2_parallelism, (unsigned)ts->cfg.password_hash_slots);
	/* As serve (core/main.c): the replica pool prepares statements when the primary's does. */
	unsigned no_prepare = ts->cfg.db_prepared_statements ? 0 : DB_NO_PREPARE;
	ck_assert_int_eq(db_pool_open(ts->cfg.database_url, ts->cfg.db_pool_size,
				      (int)ts->cfg.db_timeout_ms, no_prepare, &ts->app.pool),
			 APP_OK);
	if (ts->cfg.database_replica_url)
		ck_assert_int_eq(db_pool_open(ts->cfg.database_replica_url, ts->cfg.db_pool_size,
					      (int)ts->cfg.db_timeout_ms, DB_REPLICA | no_prepare,
					      &ts->app.replica),
				 APP_OK);
	ts->router = routes_build();
	if (extra)
		router_add(ts->router, extra, n);
	if (ts->cfg.metrics) {
		metrics_routes(ts->router);
		ts->app.metrics = metrics_new(router_count(ts->router));
	}
	ts->app.router = ts->router;
	ts->app.cache = response_cache_new((size_t)ts->cfg.response_cache_bytes);
	ck_assert_int_eq(
		cache_listener_start(ts->cfg.database_direct_url, ts->app.cache, &ts->listener), 0);
	ck_assert_int_eq(rate_limiter_start(&ts->cfg, ts->app.pool, &ts->app.limiter), 0);
	ck_assert_int_eq(server_start(&ts->app, 0, &ts->server), 0);
	snprintf(ts->base, sizeof(ts->base), "http://127.0.0.1:%d", server_port(ts->server));
}

void test_server_stop(struct test_server *ts)
{
	server_stop(ts->server, 5);
	rate_limiter_free(ts->app.limiter);
	cache_listener_stop(ts->listener);
	response_cache_free(ts->app.cache);
	router_free(ts->router);
	metrics_free(ts->app.metrics);
	db_pool_free(ts->app.replica);
	db_pool_free(ts->app.pool);
	password_hasher_free(ts->app.hasher);
	token_keys_free(ts->keys);
	config_release(&ts->cfg);
}

long test_call(struct test_server *ts, const char *method, const char *path,
	       const char *const *headers, const char *body, struct test_response *resp, json_t **j)
{
	char url[1024];
	snprintf(url, sizeof(url), "%s%s", ts->base, path);
	ck_assert_int_eq(test_http(method, url, headers, body, body ? strlen(body) : 0, resp), 0);
	if (j && resp->body.len == 0) {
		*j = NULL; /* a 204, or a HEAD */
	} else if (j) {
		*j = json_loads(strbuf_str(&resp->body), JSON_DECODE_ANY, NULL);
		ck_assert_msg(*j != NULL, "%s %s: not JSON: %s", method, path,
			      strbuf_str(&resp->body));
	}
	return resp->status;
}

const char *const TEST_JSON[] = {"Content-Type: application/json", NULL};

void test_unique(char *out, size_t size, const char *prefix)
{
	static int n;
	snprintf(out, size, "%s%ld%d", prefix, (long)getpid(), ++n);
}

long test_send(struct test_server *ts, const char *method, const char *path,
	       const char *const *headers, json_t *j_body, json_t **j)
{
	struct test_response resp;
	char *text = j_body ? json_dumps(j_body, JSON_COMPACT) : NULL;
	json_decref(j_body);
	long status = test_call(ts, method, path, headers ? headers : TEST_JSON, text, &resp, j);
	free(text);
	test_response_release(&resp);
	return status;
}

long test_post(struct test_server *ts, const char *path, const char *const *headers, json_t *j_body,
	       json_t **j)
{
	return test_send(ts, "POST", path, headers, j_body, j);
}

const char *const *test_bearer(const char *token)
{
	static char header[4096];
	static const char *list[3];
	snprintf(header, sizeof(header), "Authorization: Bearer %s", token);
	list[0] = header;
	list[1] = "Content-Type: application/json";
	list[2] = NULL;
	return list;
}

void test_register(struct test_server *ts, struct test_account *a, const char *prefix)
{
	json_t *j;
	test_unique(a->username, sizeof(a->username), prefix);
	snprintf(a->email, sizeof(a->email), "%s@example.com", a->username);
	ck_assert_int_eq(test_post(ts, "/api/users/register", NULL,
				   json_pack("{s:s,s:s,s:s}", "username", a->username, "email",
					     a->email, "password", TEST_PASSWORD),
				   &j),
			 201);
	snprintf(a->user_id, sizeof(a->user_id), "%s", json_string_value(json_object_get(j, "id")));
	snprintf(a->profile_id, sizeof(a->profile_id), "%s",
		 json_string_value(json_object_get(json_object_get(j, "profile"), "id")));
	json_decref(j);
}

void test_member_new(struct test_server *ts, struct test_member *m, const char *prefix)
{
	test_register(ts, &m->a, prefix);
	ck_assert_int_eq(test_login(ts, m->a.username, TEST_PASSWORD, &m->access, &m->refresh),
			 200);
}

void test_member_free(struct test_member *m)
{
	free(m->access);
	free(m->refresh);
}

long test_login(struct test_server *ts, const char *username, const char *password, char **access,
		char **refresh)
{
	json_t *j;
	long status =
		test_post(ts, "/api/users/token", NULL,
			  json_pack("{s:s,s:s}", "username", username, "password", password), &j);
	if (status == 200) {
		*access = xstrdup(json_string_value(json_object_get(j, "access")));
		*refresh = xstrdup(json_string_value(json_object_get(j, "refresh")));
	}
	json_decref(j);
	return status;
}
