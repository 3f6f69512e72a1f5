/*
 * Test support: an HTTP client (libcurl), the devsearch binary as a child
 * process, throwaway databases, and control of the test cluster. Everything
 * talks to the real PostgreSQL that scripts/test.sh started.
 */
#ifndef DEVSEARCH_TEST_SUPPORT_H
#define DEVSEARCH_TEST_SUPPORT_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "api/http.h"
#include "core/app.h"
#include "core/config.h"
#include "core/util.h"

struct test_response {
	long status;
	struct strbuf headers;
	struct strbuf body;
};

/*
 * Send one request. headers is a NULL-terminated list of "Name: value"
 * (may be NULL); body may be NULL. Returns 0, or -1 if no answer came.
 * Release the response with test_response_release().
 */
int test_http(const char *method, const char *url, const char *const *headers, const char *body,
	      size_t body_len, struct test_response *out);
void test_response_release(struct test_response *resp);
/* A response header's value (new string, caller free()s) or NULL. */
char *test_response_header(const struct test_response *resp, const char *name);

/*
 * How much to stretch a wall-clock bound: DEVSEARCH_TEST_TIME_SCALE (scripts/test.sh
 * sets 3 for the sanitizer build), else 1.
 */
double test_time_scale(void);

/* A required environment variable set by scripts/test.sh (fails the test if unset). */
const char *test_env(const char *name);

/*
 * Create an empty database with a unique name; returns its URL (caller free()s).
 * The database is left behind for the cluster's teardown.
 */
char *test_db_create(void);

/* First column of the first row of sql on url, as a new string; NULL if no row. */
char *test_sql_value(const char *url, const char *sql);
/* The same with parameters (a NULL-terminated list, at most 8). */
char *test_sql_params(const char *url, const char *sql, const char *const *params);
/* On the test database with $1 (and $2 when p2 is not NULL). */
char *test_sql(const char *sql, const char *p1, const char *p2);

/*
 * Start the devsearch binary with args (NULL-terminated, without argv[0]) and
 * extra "NAME=value" environment entries (NULL-terminated, may be NULL); its
 * stdout and stderr go to *out_fd.
 */
pid_t test_spawn(const char *const *args, const char *const *env, int *out_fd);
/* Read the child's output to the end, wait for it; returns its exit status (-1 if killed). */
int test_finish(pid_t pid, int out_fd, struct strbuf *output);
/* test_spawn + test_finish. */
int test_run(const char *const *args, const char *const *env, struct strbuf *output);

/* Stop or start the test cluster (scripts/pg.sh). 0 on success. */
int test_pg_stop(void);
int test_pg_start(void);

/* A TCP port that was free a moment ago. */
int test_free_port(void);

/* Poll url until it answers 200 or timeout_ms passes; 0 if it did. */
int test_wait_http_ok(const char *url, int timeout_ms);

/* The real server in this process on a free port, against DATABASE_URL. */
struct test_server {
	struct config cfg;
	struct app app;
	struct router *router;
	struct server *server;
	struct token_keys *keys;
	struct cache_listener *listener; /* NULL with RESPONSE_CACHE_BYTES=0 */
	char base[64];
};

/*
 * Start it with every API route plus extra[0..n) (may be NULL); settings from
 * the environment. As serve does, a response cache of RESPONSE_CACHE_BYTES
 * with its invalidation listener (connected when this returns).
 */
void test_server_start(struct test_server *ts, const struct route *extra, size_t n);
void test_server_stop(struct test_server *ts);

/*
 * Request path on ts; *j (if j) is the parsed JSON body (caller json_decref()s;
 * NULL for an empty body; fails the test if a body is not JSON). Returns the status.
 */
long test_call(struct test_server *ts, const char *method, const char *path,
	       const char *const *headers, const char *body, struct test_response *resp,
	       json_t **j);

/* Users for HTTP tests. */
#define TEST_PASSWORD "Tr0ub4dor&3-horse"
extern const char *const TEST_JSON[]; /* {"Content-Type: application/json", NULL} */

struct test_account {
	char username[64];
	char email[96];
	char user_id[37];
	char profile_id[37];
};

/* A registered user, logged in: both tokens (test_member_free() frees them). */
struct test_member {
	struct test_account a;
	char *access;
	char *refresh;
};
void test_member_new(struct test_server *ts, struct test_member *m, const char *prefix);
void test_member_free(struct test_member *m);

/* A name unique to this test run, prefix first. */
void test_unique(char *out, size_t size, const char *prefix);
/* Register a fresh user (password TEST_PASSWORD) through the API; fails the test unless 201. */
void test_register(struct test_server *ts, struct test_account *a, const char *prefix);
/* Log in; on 200 *access and *refresh are new strings (free()). Returns the status. */
long test_login(struct test_server *ts, const char *username, const char *password, char **access,
		char **refresh);
/* Headers "Authorization: Bearer <token>" and the JSON content type (static storage: use at once). */
const char *const *test_bearer(const char *token);
/* POST j_body (stolen) as JSON with headers (NULL: just the content type); *j the answer. */
long test_post(struct test_server *ts, const char *path, const char *const *headers, json_t *j_body,
	       json_t **j);
/* Any method with a JSON body (stolen, may be NULL) and headers; *j the answer if j. */
long test_send(struct test_server *ts, const char *method, const char *path,
	       const char *const *headers, json_t *j_body, json_t **j);

Suite *unit_suite(void);
Suite *http_suite(void);
Suite *cli_suite(void);
Suite *password_suite(void);  /* tests/test_password.c */
Suite *email_suite(void);     /* tests/test_email.c */
Suite *auth_suite(void);      /* tests/test_auth.c */
Suite *profiles_suite(void);  /* tests/test_profiles.c */
Suite *messages_suite(void);  /* tests/test_messages.c: messages, notes, staff */
Suite *projects_suite(void);  /* tests/test_projects.c */
Suite *images_suite(void);    /* tests/test_images.c */
Suite *seed_suite(void);      /* tests/test_seed.c */
Suite *cache_suite(void);     /* tests/test_cache.c */
Suite *compress_suite(void);  /* tests/test_compress.c: gzip, HEAD, OPTIONS */
Suite *db_suite(void);        /* tests/test_db.c */
Suite *security_suite(void);  /* tests/test_security.c */
Suite *faults_suite(void);    /* tests/faults/test_faults.c */
Suite *metrics_suite(void);   /* tests/test_metrics.c */
Suite *topology_suite(void);  /* tests/test_topology.c */
Suite *import_suite(void);    /* tests/test_import.c */
Suite *ratelimit_suite(void); /* tests/test_ratelimit.c */
Suite *logs_suite(void);      /* tests/test_logs.c: request ids, LOG_FORMAT, secrets */
Suite *flush_suite(void);     /* tests/test_flush.c: flushexpiredtokens, FLUSH_INTERVAL */

#endif
