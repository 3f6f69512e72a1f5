/*
 * The bad-input catalogue of docs/security.md and the response hardening of
 * issue 7, one test per row, against the real server and database: oversized
 * requests, broken JSON, numbers out of range, wrong types, SQL
 * metacharacters, /media traversal, forged tokens, header injection, user
 * enumeration, nosniff / no-store / no banner, errors without internals.
 */
#include <arpa/inet.h>
#include <jwt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "auth/token.h"
#include "core/server.h"
#include "support.h"

static struct test_server ts;
static char media_root[64];

/* Small enough that an oversized body costs nothing to send. */
#define BODY_LIMIT 4096

static void security_up(void)
{
	snprintf(media_root, sizeof(media_root), "/tmp/devsearch-sec-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(media_root));
	setenv("MEDIA_ROOT", media_root, 1);
	setenv("MAX_BODY_BYTES", "4096", 1);
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
	test_server_start(&ts, NULL, 0);
}

static void security_down(void)
{
	char cmd[128];
	test_server_stop(&ts);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", media_root);
	ck_assert_int_eq(system(cmd), 0);
}

/* method path with headers and body; *j the JSON answer (NULL if empty). */
static long call(const char *method, const char *path, const char *const *headers, const char *body,
		 json_t **j)
{
	struct test_response resp;
	long status = test_call(&ts, method, path, headers, body, &resp, j);
	test_response_release(&resp);
	return status;
}

static const char *code_of(json_t *j)
{
	return json_string_value(json_object_get(j, "code"));
}

/* The first message of field in a validation error body, or NULL. */
static const char *field_error(json_t *j, const char *field)
{
	return json_string_value(json_array_get(json_object_get(j, field), 0));
}

/* One raw exchange with the server (loopback, timeout_s at most); the whole answer into out. */
static void raw_exchange(const void *request, size_t len, int timeout_s, struct strbuf *out)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)server_port(ts.server)),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval timeout = {timeout_s, 0};
	char chunk[4096];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	ck_assert(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	/* The server may answer (and close) before it has read everything: that is fine. */
	for (size_t sent = 0; sent < len;) {
		n = send(fd, (const char *)request + sent, len - sent, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
		strbuf_add(out, chunk, (size_t)n);
	close(fd);
}

/* The status of a raw answer, 0 if none. */
static int raw_status(const struct strbuf *answer)
{
	int status = 0;
	if (sscanf(strbuf_str(answer), "HTTP/1.%*d %d", &status) != 1)
		return 0;
	return status;
}

/* The header section of a raw answer (up to the blank line); new string. */
static char *raw_head(const struct strbuf *answer)
{
	const char *end = strstr(strbuf_str(answer), "\r\n\r\n");
	return xstrndup(strbuf_str(answer), end ? (size_t)(end - answer->buf) : answer->len);
}

static void assert_server_alive(void)
{
	json_t *j;
	ck_assert_int_eq(call("GET", "/api/health", NULL, NULL, &j), 200);
	json_decref(j);
}

/* A registered, logged-in user. */
struct person {
	struct test_account a;
	char *access;
	char *refresh;
};

static void person_init(struct person *p, const char *prefix)
{
	test_register(&ts, &p->a, prefix);
	ck_assert_int_eq(test_login(&ts, p->a.username, TEST_PASSWORD, &p->access, &p->refresh),
			 200);
}

static void person_release(struct person *p)
{
	free(p->access);
	free(p->refresh);
}

START_TEST(oversized_headers_are_refused_by_the_http_layer)
{
	struct strbuf req = STRBUF_INIT, answer = STRBUF_INIT;

	/* One huge header value. */
	strbuf_addstr(&req, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ");
	for (int i = 0; i < 200000; i++)
		strbuf_addch(&req, 'a');
	strbuf_addstr(&req, "\r\nConnection: close\r\n\r\n");
	raw_exchange(req.buf, req.len, 10, &answer);
	ck_assert_int_eq(raw_status(&answer), 431);

	/* Twenty thousand small headers. */
	strbuf_reset(&req);
	strbuf_reset(&answer);
	strbuf_addstr(&req, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
	for (int i = 0; i < 20000; i++)
		strbuf_addf(&req, "X-H%d: v\r\n", i);
	strbuf_addstr(&req, "Connection: close\r\n\r\n");
	raw_exchange(req.buf, req.len, 10, &answer);
	ck_assert_int_eq(raw_status(&answer), 431);

	/* A 100 KB request line. */
	strbuf_reset(&req);
	strbuf_reset(&answer);
	strbuf_addstr(&req, "GET /api/");
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&req, 'a');
	strbuf_addstr(&req, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
	raw_exchange(req.buf, req.len, 10, &answer);
	ck_assert_int_eq(raw_status(&answer), 414);

	assert_server_alive();
	strbuf_release(&req);
	strbuf_release(&answer);
}
END_TEST

START_TEST(oversized_bodies_are_413)
{
	struct person p;
	json_t *j;
	person_init(&p, "secbig");
	char *big = xmalloc(BODY_LIMIT + 64);
	memset(big, ' ', BODY_LIMIT + 63);
	memcpy(big, "{\"title\":\"x\"", 12);
	big[BODY_LIMIT + 62] = '}';
	big[BODY_LIMIT + 63] = '\0';
	ck_assert_int_eq(call("POST", "/api/notes", test_bearer(p.access), big, &j), 413);
	ck_assert_str_eq(code_of(j), "payload_too_large");
	json_decref(j);
	/* Anonymous, on a route that does not exist, too: the limit comes before anything. */
	ck_assert_int_eq(call("POST", "/api/no-such-route", TEST_JSON, big, &j), 413);
	ck_assert_str_eq(code_of(j), "payload_too_large");
	json_decref(j);
	/*
	 * A declared length far over the limit with the bytes never sent: the answer
	 * waits for the body (ulfius reads it before calling us), so nothing comes
	 * within 2 s, and meanwhile everyone else is served.
	 */
	struct strbuf answer = STRBUF_INIT;
	const char req[] = "POST /api/notes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			   "Content-Type: application/json\r\nContent-Length: 99999999999\r\n"
			   "Connection: close\r\n\r\n{}";
	raw_exchange(req, sizeof(req) - 1, 2, &answer);
	ck_assert_int_eq(raw_status(&answer), 0);
	strbuf_release(&answer);
	assert_server_alive();
	free(big);
	person_release(&p);
}
END_TEST

START_TEST(invalid_utf8_is_a_parse_error)
{
	struct person p;
	person_init(&p, "secutf");
	const char *const bodies[] = {
		"{\"title\":\"a\xff\xfe\"}",    /* bytes that are never UTF-8 */
		"{\"title\":\"\xc0\xaf\"}",     /* an overlong '/' */
		"{\"title\":\"\xed\xa0\x80\"}", /* an encoded surrogate */
		"{\"title\":\"\\ud800\"}",      /* a lone escaped surrogate */
		"{\"title\":\"abc\xe2\x82\"}",  /* a truncated sequence */
		"{\"ti\xfftle\":\"abc\"}",      /* in a key */
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		json_t *j;
		ck_assert_int_eq(call("POST", "/api/notes", test_bearer(p.access), bodies[i], &j),
				 400);
		ck_assert_str_eq(code_of(j), "parse_error");
		json_decref(j);
	}
	ck_assert_ptr_null(test_sql("SELECT n.id FROM notes n JOIN profiles p ON p.id = n.owner_id "
				    "WHERE p.user_id = $1",
				    p.a.user_id, NULL));
	person_release(&p);
}
END_TEST

START_TEST(nul_inside_json_strings_is_400)
{
	struct person p;
	json_t *j;
	person_init(&p, "secnul");
	ck_assert_int_eq(
		call("POST", "/api/notes", test_bearer(p.access), "{\"title\":\"a\\u0000b\"}", &j),
		400);
	ck_assert_str_eq(field_error(j, "title"), "Null characters are not allowed.");
	json_decref(j);
	ck_assert_int_eq(
		call("PATCH", "/api/account", test_bearer(p.access), "{\"bio\":\"x\\u0000\"}", &j),
		400);
	ck_assert_str_eq(field_error(j, "bio"), "Null characters are not allowed.");
	json_decref(j);
	/* In a key: jansson cannot hold it, so the body is not JSON we accept. */
	ck_assert_int_eq(
		call("POST", "/api/notes", test_bearer(p.access), "{\"ti\\u0000tle\":\"ab\"}", &j),
		400);
	ck_assert_str_eq(code_of(j), "parse_error");
	json_decref(j);
	/* A raw NUL byte in the body (curl sends it with the length we give). */
	char url[256];
	struct test_response resp;
	const char raw[] = "{\"title\":\"a\0b\"}";
	snprintf(url, sizeof(url), "%s/api/notes", ts.base);
	ck_assert_int_eq(test_http("POST", url, test_bearer(p.access), raw, sizeof(raw) - 1, &resp),
			 0);
	ck_assert_int_eq(resp.status, 400);
	test_response_release(&resp);
	/* And a login with a NUL in the username is a plain failure, not a match on a prefix. */
	ck_assert_int_eq(call("POST", "/api/users/token", TEST_JSON,
			      "{\"username\":\"admin\\u0000x\",\"password\":\"x\"}", &j),
			 400);
	json_decref(j);
	person_release(&p);
}
END_TEST

START_TEST(numbers_out_of_range)
{
	struct person p;
	json_t *j;
	person_init(&p, "secnum");
	const char *const bad_pages[] = {
		"99999999999999999999", "0", "-1", "1e3", "abc", "", "%00"};
	for (size_t i = 0; i < sizeof(bad_pages) / sizeof(bad_pages[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), "/api/projects?page=%s", bad_pages[i]);
		ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 404);
		ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), "Invalid page.");
		json_decref(j);
	}
	/* page_size: as DRF, capped at 100, and anything that is not a positive int is the default. */
	const char *const sizes[] = {"99999999999999999999", "-5", "0", "abc", "1e9"};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), "/api/tags?page_size=%s", sizes[i]);
		ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
		ck_assert(json_is_array(json_object_get(j, "results")));
		json_decref(j);
	}
	/* Ids are UUIDs: a number, however large, is no route. */
	ck_assert_int_eq(call("GET", "/api/projects/99999999999999999999", NULL, NULL, &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/projects?owner=-1", NULL, NULL, &j), 400);
	ck_assert_str_eq(field_error(j, "owner"), "Must be a valid UUID.");
	json_decref(j);
	/* Numbers in bodies: beyond 64 bits or a double is a parse error, a number where */
	/* a boolean or a pk belongs is a field error. */
	ck_assert_int_eq(call("PATCH", "/api/account", test_bearer(p.access),
			      "{\"is_active\":99999999999999999999999}", &j),
			 400);
	ck_assert_str_eq(code_of(j), "parse_error");
	json_decref(j);
	ck_assert_int_eq(
		call("PATCH", "/api/account", test_bearer(p.access), "{\"bio\":1e400}", &j), 400);
	ck_assert_str_eq(code_of(j), "parse_error");
	json_decref(j);
	ck_assert_int_eq(call("PATCH", "/api/account", test_bearer(p.access),
			      "{\"is_active\":9223372036854775807,\"favorite_note\":-1}", &j),
			 400);
	ck_assert_str_eq(field_error(j, "is_active"), "Must be a valid boolean.");
	ck_assert_ptr_nonnull(field_error(j, "favorite_note"));
	json_decref(j);
	person_release(&p);
}
END_TEST

START_TEST(deep_nesting_is_a_parse_error)
{
	struct person p;
	json_t *j;
	person_init(&p, "secdeep");
	/* With the default 1 MiB body limit, so that the parser, not the limit, refuses it. */
	test_server_stop(&ts);
	unsetenv("MAX_BODY_BYTES");
	test_server_start(&ts, NULL, 0);
	struct strbuf body = STRBUF_INIT;
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&body, '[');
	ck_assert_int_eq(call("POST", "/api/notes", test_bearer(p.access), body.buf, &j), 400);
	ck_assert_str_eq(code_of(j), "parse_error");
	ck_assert_ptr_nonnull(
		strstr(json_string_value(json_object_get(j, "detail")), "maximum parsing depth"));
	json_decref(j);
	strbuf_reset(&body);
	for (int i = 0; i < 20000; i++)
		strbuf_addstr(&body, "{\"a\":");
	ck_assert_int_eq(call("POST", "/api/notes", test_bearer(p.access), body.buf, &j), 400);
	ck_assert_str_eq(code_of(j), "parse_error");
	json_decref(j);
	strbuf_release(&body);
	assert_server_alive();
	person_release(&p);
}
END_TEST

START_TEST(duplicate_keys_the_last_one_wins)
{
	struct person p;
	json_t *j;
	person_init(&p, "secdup");
	ck_assert_int_eq(call("POST", "/api/notes", test_bearer(p.access),
			      "{\"title\":\"first\",\"body\":\"b\",\"title\":\"second\"}", &j),
			 201);
	ck_assert_str_eq(json_string_value(json_object_get(j, "title")), "second");
	json_decref(j);
	/* An invalid first value does not survive either: only the last one is validated. */
	ck_assert_int_eq(call("POST", "/api/notes", test_bearer(p.access),
			      "{\"title\":\"\",\"title\":\"kept\"}", &j),
			 201);
	ck_assert_str_eq(json_string_value(json_object_get(j, "title")), "kept");
	json_decref(j);
	person_release(&p);
}
END_TEST

/* PATCH path with body as p; the first message on field (which must exist). */
static void assert_field_refused(const char *method, const char *path, const char *token,
				 const char *body, const char *field, const char *message)
{
	json_t *j;
	ck_assert_int_eq(call(method, path, test_bearer(token), body, &j), 400);
	const char *got = field_error(j, field);
	ck_assert_msg(got != NULL, "%s %s: no error on %s", path, body, field);
	if (message)
		ck_assert_str_eq(got, message);
	json_decref(j);
}

START_TEST(wrong_types_for_every_field_kind)
{
	struct person p, q;
	json_t *j;
	person_init(&p, "sectype");
	person_init(&q, "sectypeq");
	const char *t = p.access;
	/* text */
	assert_field_refused("POST", "/api/notes", t, "{\"title\":{}}", "title",
			     "Not a valid string.");
	assert_field_refused("POST", "/api/notes", t, "{\"title\":[\"a\"]}", "title",
			     "Not a valid string.");
	assert_field_refused("POST", "/api/notes", t, "{\"title\":true}", "title",
			     "Not a valid string.");
	assert_field_refused("POST", "/api/notes", t, "{\"title\":null}", "title",
			     "This field may not be null.");
	/* URL, email, date, boolean, pk */
	assert_field_refused("PATCH", "/api/account", t, "{\"social_github\":5}", "social_github",
			     NULL);
	assert_field_refused("PATCH", "/api/account", t,
			     "{\"profile_image\":\"javascript:alert(1)\"}", "profile_image",
			     "Enter a valid URL.");
	assert_field_refused("PATCH", "/api/account", t, "{\"email\":[\"a@b.c\"]}", "email", NULL);
	assert_field_refused("PATCH", "/api/account", t, "{\"birth_date\":20200101}", "birth_date",
			     NULL);
	assert_field_refused("PATCH", "/api/account", t, "{\"birth_date\":\"2026-02-30\"}",
			     "birth_date", NULL);
	assert_field_refused("PATCH", "/api/account", t, "{\"is_active\":\"maybe\"}", "is_active",
			     "Must be a valid boolean.");
	assert_field_refused("PATCH", "/api/account", t, "{\"favorite_note\":{}}", "favorite_note",
			     NULL);
	/* list and list items */
	assert_field_refused("POST", "/api/projects", t, "{\"title\":\"x\",\"tags\":\"abc\"}",
			     "tags", "Expected a list of items but got type \"str\".");
	ck_assert_int_eq(call("POST", "/api/projects", test_bearer(t),
			      "{\"title\":\"x\",\"tags\":[{},null]}", &j),
			 400);
	ck_assert(json_is_object(json_object_get(j, "tags")));
	json_decref(j);
	/* choice */
	ck_assert_int_eq(call("POST", "/api/projects", test_bearer(q.access),
			      "{\"title\":\"sec-type-target\"}", &j),
			 201);
	char path[128];
	snprintf(path, sizeof(path), "/api/projects/%s/vote",
		 json_string_value(json_object_get(j, "id")));
	json_decref(j);
	assert_field_refused("POST", path, t, "{\"value\":1}", "value", NULL);
	assert_field_refused("POST", path, t, "{\"value\":\"sideways\"}", "value", NULL);
	/* the body itself */
	ck_assert_int_eq(call("POST", "/api/notes", test_bearer(t), "[1,2]", &j), 400);
	ck_assert_str_eq(field_error(j, "non_field_errors"),
			 "Invalid data. Expected a dictionary, but got list.");
	json_decref(j);
	ck_assert_int_eq(call("POST", "/api/users/token", TEST_JSON,
			      "{\"username\":[],\"password\":{}}", &j),
			 400);
	ck_assert_str_eq(field_error(j, "password"), "Not a valid string.");
	json_decref(j);
	person_release(&p);
	person_release(&q);
}
END_TEST

START_TEST(sql_metacharacters_are_only_data)
{
	struct person p;
	json_t *j;
	person_init(&p, "secsql");
	const char *title = "x'); DROP TABLE projects; -- \\ %_ \" $1 ;";
	json_t *j_body = json_pack("{s:s,s:[s,s]}", "title", title, "tags", "a'b", "%_\\");
	ck_assert_int_eq(test_post(&ts, "/api/projects", test_bearer(p.access), j_body, &j), 201);
	ck_assert_str_eq(json_string_value(json_object_get(j, "title")), title);
	json_decref(j);
	/* Searches: quotes are text, and LIKE's wildcards match only themselves. */
	const char *const searches[] = {
		"%27%3B%20DROP%20TABLE%20projects%3B--",
		"%25",
		"_",
		"%5C",
		"%27%20OR%20%271%27%3D%271",
	};
	for (size_t i = 0; i < sizeof(searches) / sizeof(searches[0]); i++) {
		const char *const lists[] = {"/api/projects", "/api/profiles", "/api/tags"};
		for (size_t k = 0; k < 3; k++) {
			char path[256];
			snprintf(path, sizeof(path), "%s?search=%s", lists[k], searches[i]);
			ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
			json_decref(j);
		}
	}
	ck_assert_int_eq(call("GET", "/api/projects?search=%25&page_size=100", NULL, NULL, &j),
			 200);
	json_int_t with_percent = json_integer_value(json_object_get(j, "count"));
	json_decref(j);
	char *expected = test_sql("SELECT count(DISTINCT p.id) FROM projects p "
				  "LEFT JOIN project_tags pt ON pt.project_id = p.id "
				  "LEFT JOIN tags t ON t.id = pt.tag_id "
				  "LEFT JOIN profiles o ON o.id = p.owner_id "
				  "WHERE strpos(p.title || p.description || coalesce(o.name, '') "
				  "|| coalesce(t.name, ''), '%') > 0",
				  NULL, NULL);
	ck_assert_int_eq(with_percent, atoll(expected));
	free(expected);
	char *count = test_sql("SELECT count(*) FROM projects", NULL, NULL);
	ck_assert_ptr_nonnull(count);
	free(count);
	/* In a login and in a path segment. */
	ck_assert_int_eq(call("POST", "/api/users/token", TEST_JSON,
			      "{\"username\":\"' OR '1'='1\",\"password\":\"' OR '1'='1\"}", &j),
			 401);
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/projects/'%20OR%201=1--", NULL, NULL, &j), 404);
	json_decref(j);
	person_release(&p);
}
END_TEST

START_TEST(media_path_traversal_is_404)
{
	const char *const attempts[] = {
		"/media/../sql/0001_initial.up.sql",
		"/media/profiles/../../../../etc/passwd",
		"/media/%2e%2e/%2e%2e/etc/passwd",
		"/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/media/%252e%252e/etc/passwd",
		"/media/..%5c..%5cetc%5cpasswd",
		"/media//etc/passwd",
		"/media/%2fetc%2fpasswd",
		"/media/profiles/x.png%00.txt",
		"/media/%00",
		"/media/profiles/%0d%0aX-Injected:%201",
	};
	for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		json_t *j;
		ck_assert_msg(call("GET", attempts[i], NULL, NULL, &j) == 404, "%s", attempts[i]);
		ck_assert_str_eq(code_of(j), "not_found");
		json_decref(j);
	}
	/* The same raw, since curl would squash the dot segments itself. */
	const char *const raw[] = {"/media/../../etc/passwd", "/media/./profiles/../../etc/passwd"};
	for (size_t i = 0; i < 2; i++) {
		struct strbuf req = STRBUF_INIT, answer = STRBUF_INIT;
		strbuf_addf(&req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
			    raw[i]);
		raw_exchange(req.buf, req.len, 10, &answer);
		ck_assert_int_eq(raw_status(&answer), 404);
		ck_assert_ptr_null(strstr(strbuf_str(&answer), "root:"));
		strbuf_release(&req);
		strbuf_release(&answer);
	}
}
END_TEST

/* An HS256 token with the given claims (a JSON object text), signed with key. */
static char *sign_claims(jwt_alg_t alg, const char *key, const char *claims)
{
	jwt_t *jwt = NULL;
	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, claims), 0);
	ck_assert_int_eq(
		jwt_set_alg(jwt, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0), 0);
	char *text = jwt_encode_str(jwt);
	char *copy = xstrdup(text);
	free(text);
	jwt_free(jwt);
	return copy;
}

/* Claims of an access token for user_id at now, with overrides appended ("," first). */
static char *claims_text(const char *type, long iat, long exp, const char *user_id)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "{");
	if (type)
		strbuf_addf(&sb, "\"token_type\":\"%s\",", type);
	if (exp)
		strbuf_addf(&sb, "\"exp\":%ld,", exp);
	if (iat)
		strbuf_addf(&sb, "\"iat\":%ld,", iat);
	if (user_id)
		strbuf_addf(&sb, "\"user_id\":\"%s\",", user_id);
	strbuf_addstr(&sb, "\"jti\":\"0123456789abcdef0123456789abcdef\"}");
	return strbuf_detach(&sb);
}

/* GET /api/users/me with token: 401 with code. */
static void assert_token_refused(const char *token, const char *code)
{
	json_t *j;
	ck_assert_int_eq(call("GET", "/api/users/me", test_bearer(token), NULL, &j), 401);
	ck_assert_str_eq(code_of(j), code);
	json_decref(j);
}

static char *forge(const char *type, long iat, long exp, const char *user_id)
{
	char *claims = claims_text(type, iat, exp, user_id);
	char *token = sign_claims(JWT_ALG_HS256, getenv("JWT_SECRET"), claims);
	free(claims);
	return token;
}

START_TEST(forged_tokens_are_401)
{
	struct person p;
	json_t *j;
	long now = (long)time(NULL);
	const char *secret = getenv("JWT_SECRET");
	person_init(&p, "secjwt");
	const char *uid = p.a.user_id;

	/* The test's own signing is right: a well-formed token passes. */
	char *good = forge("access", now, now + 60, uid);
	ck_assert_int_eq(call("GET", "/api/users/me", test_bearer(good), NULL, &j), 200);
	json_decref(j);

	/* alg none: header {"alg":"none"}, empty signature. */
	char *claims = claims_text("access", now, now + 60, uid);
	char *h = base64url_encode((const unsigned char *)"{\"alg\":\"none\",\"typ\":\"JWT\"}", 27);
	char *b = base64url_encode((const unsigned char *)claims, strlen(claims));
	struct strbuf none = STRBUF_INIT;
	strbuf_addf(&none, "%s.%s.", h, b);
	assert_token_refused(strbuf_str(&none), "token_not_valid");
	strbuf_reset(&none);
	strbuf_addf(&none, "%s.%s", h, b);
	assert_token_refused(strbuf_str(&none), "token_not_valid");
	/* Another HMAC, another key, a flipped signature byte. */
	char *hs512 = sign_claims(JWT_ALG_HS512, secret, claims);
	assert_token_refused(hs512, "token_not_valid");
	char *other_key =
		sign_claims(JWT_ALG_HS256, "an-attacker-secret-of-32-bytes-or-more", claims);
	assert_token_refused(other_key, "token_not_valid");
	char *flipped = xstrdup(good);
	size_t len = strlen(flipped);
	flipped[len - 3] = flipped[len - 3] == 'A' ? 'B' : 'A';
	assert_token_refused(flipped, "token_not_valid");
	/* Time: expired, issued in the future (beyond 30 s of skew). */
	char *expired = forge("access", now - 600, now - 1, uid);
	assert_token_refused(expired, "token_not_valid");
	char *future = forge("access", now + 3600, now + 7200, uid);
	assert_token_refused(future, "token_not_valid");
	/* Type: a refresh token as access, an access token as refresh, an unknown type. */
	assert_token_refused(p.refresh, "token_not_valid");
	ck_assert_int_eq(test_post(&ts, "/api/users/token/refresh", NULL,
				   json_pack("{s:s}", "refresh", p.access), &j),
			 401);
	ck_assert_str_eq(code_of(j), "token_not_valid");
	json_decref(j);
	char *odd_type = forge("id", now, now + 60, uid);
	assert_token_refused(odd_type, "token_not_valid");
	/* Missing claims, one at a time; a user_id that is not a UUID. */
	char *no_type = forge(NULL, now, now + 60, uid);
	char *no_exp = forge("access", now, 0, uid);
	char *no_user = forge("access", now, now + 60, NULL);
	char *bad_user = forge("access", now, now + 60, "1 OR 1=1");
	assert_token_refused(no_type, "token_not_valid");
	assert_token_refused(no_exp, "token_not_valid");
	assert_token_refused(no_user, "token_not_valid");
	assert_token_refused(bad_user, "token_not_valid");
	/* Unknown user. */
	char *ghost = forge("access", now, now + 60, "00000000-0000-4000-8000-000000000000");
	assert_token_refused(ghost, "user_not_found");
	/* Garbage and huge tokens. */
	const char *const garbage[] = {"",
				       "a",
				       "a.b",
				       "a.b.c",
				       "...",
				       "\xff\xfe.\x01.\x02",
				       "eyJhbGciOiJIUzI1NiJ9.eyJ9.x"};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		ck_assert_int_eq(call("GET", "/api/users/me", test_bearer(garbage[i]), NULL, &j),
				 401);
		json_decref(j);
	}
	char *huge = xmalloc(9000);
	memset(huge, 'a', 8999);
	huge[8999] = '\0';
	memcpy(huge + 100, ".", 1);
	memcpy(huge + 200, ".", 1);
	assert_token_refused(huge, "token_not_valid");
	/* Revoked: logout-all refuses the access tokens issued before it. */
	ck_assert_int_eq(test_post(&ts, "/api/users/logout-all", test_bearer(p.access), NULL, &j),
			 200);
	json_decref(j);
	assert_token_refused(p.access, "token_not_valid");
	/* Deactivated: a fresh login's token stops working at once. */
	free(p.access);
	free(p.refresh);
	sleep(1); /* a token issued in the same second as the revocation counts as before it */
	ck_assert_int_eq(test_login(&ts, p.a.username, TEST_PASSWORD, &p.access, &p.refresh), 200);
	ck_assert_int_eq(call("GET", "/api/users/me", test_bearer(p.access), NULL, &j), 200);
	json_decref(j);
	free(test_sql("UPDATE users SET is_active = false WHERE id = $1", uid, NULL));
	assert_token_refused(p.access, "user_inactive");

	strbuf_release(&none);
	free(h);
	free(b);
	free(claims);
	free(good);
	free(hs512);
	free(other_key);
	free(flipped);
	free(expired);
	free(future);
	free(odd_type);
	free(no_type);
	free(no_exp);
	free(no_user);
	free(bad_user);
	free(ghost);
	free(huge);
	person_release(&p);
}
END_TEST

START_TEST(hs256_with_the_public_key_is_refused)
{
	char dir[] = "/tmp/devsearch-sec-keys-XXXXXX";
	char cmd[1024], priv[128], pub[128];
	struct strbuf pem = STRBUF_INIT;
	char chunk[1024];
	size_t n;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(priv, sizeof(priv), "%s/key.pem", dir);
	snprintf(pub, sizeof(pub), "%s/key.pub", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' "
		 "2>/dev/null && openssl pkey -in '%s' -pubout -out '%s' 2>/dev/null",
		 priv, priv, pub);
	ck_assert_int_eq(system(cmd), 0);
	FILE *f = fopen(pub, "r");
	ck_assert_ptr_nonnull(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&pem, chunk, n);
	fclose(f);
	test_server_stop(&ts);
	setenv("JWT_ALGORITHM", "ES256", 1);
	setenv("JWT_PRIVATE_KEY_FILE", priv, 1);
	setenv("JWT_PUBLIC_KEY_FILE", pub, 1);
	test_server_start(&ts, NULL, 0);

	struct person p;
	json_t *j;
	long now = (long)time(NULL);
	person_init(&p, "secalg");
	ck_assert_int_eq(call("GET", "/api/users/me", test_bearer(p.access), NULL, &j), 200);
	json_decref(j);
	char *claims = claims_text("access", now, now + 60, p.a.user_id);
	char *confused = sign_claims(JWT_ALG_HS256, strbuf_str(&pem), claims);
	assert_token_refused(confused, "token_not_valid");
	/* The shared test secret means nothing to an ES256 server either. */
	char *hs = sign_claims(JWT_ALG_HS256, getenv("JWT_SECRET"), claims);
	assert_token_refused(hs, "token_not_valid");
	free(claims);
	free(confused);
	free(hs);
	person_release(&p);
	strbuf_release(&pem);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* 1 if a line of the header section head starts with name (case-insensitive). */
static int head_has_line(const char *head, const char *name)
{
	for (const char *line = head; line;
	     line = strstr(line, "\r\n") ? strstr(line, "\r\n") + 2 : NULL)
		if (!strncasecmp(line, name, strlen(name)))
			return 1;
	return 0;
}

START_TEST(header_injection_never_reaches_a_header)
{
	struct person p;
	person_init(&p, "secinj");
	/* Hosts with CR, LF by folding, quotes, spaces, a path: all 400, nothing echoed. */
	const char *const hosts[] = {
		"evil\rX-Injected: 1", "evil\"<x>", "evil host", "evil/path", "evil:80x", "[::1",
		"evil\tX-Injected: 1",
	};
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct strbuf req = STRBUF_INIT, answer = STRBUF_INIT;
		const char body[] = "{\"title\":\"injected\"}";
		strbuf_addf(&req,
			    "POST /api/notes HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
			    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			    "Connection: close\r\n\r\n%s",
			    hosts[i], p.access, sizeof(body) - 1, body);
		raw_exchange(req.buf, req.len, 10, &answer);
		char *head = raw_head(&answer);
		ck_assert_msg(raw_status(&answer) == 400, "Host %zu: %s", i, head);
		ck_assert_msg(!head_has_line(head, "X-Injected"), "Host %zu: %s", i, head);
		ck_assert_ptr_null(strstr(head, "Location"));
		ck_assert_ptr_null(strstr(head, "evil"));
		free(head);
		strbuf_release(&req);
		strbuf_release(&answer);
	}
	ck_assert_ptr_null(test_sql("SELECT n.id FROM notes n JOIN profiles p ON p.id = n.owner_id "
				    "WHERE p.user_id = $1",
				    p.a.user_id, NULL));
	/* A folded Host line: libmicrohttpd does not take it as the Host; nothing gets through. */
	struct strbuf folded = STRBUF_INIT, folded_answer = STRBUF_INIT;
	strbuf_addstr(&folded,
		      "GET /api/tags?page_size=1 HTTP/1.1\r\nHost: evil\r\n X-Injected: 1\r\n"
		      "Connection: close\r\n\r\n");
	raw_exchange(folded.buf, folded.len, 10, &folded_answer);
	char *folded_head = raw_head(&folded_answer);
	ck_assert_int_ne(raw_status(&folded_answer), 0);
	ck_assert(!head_has_line(folded_head, "X-Injected"));
	ck_assert_ptr_null(strstr(strbuf_str(&folded_answer), "evil"));
	free(folded_head);
	strbuf_release(&folded);
	strbuf_release(&folded_answer);
	/* Valid hosts still build the Location. */
	const char *const good_hosts[] = {"example.com", "example.com:8080", "[::1]:8000"};
	for (size_t i = 0; i < 3; i++) {
		struct strbuf req = STRBUF_INIT, answer = STRBUF_INIT, want = STRBUF_INIT;
		const char body[] = "{\"title\":\"located\"}";
		strbuf_addf(&req,
			    "POST /api/notes HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
			    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			    "Connection: close\r\n\r\n%s",
			    good_hosts[i], p.access, sizeof(body) - 1, body);
		raw_exchange(req.buf, req.len, 10, &answer);
		ck_assert_int_eq(raw_status(&answer), 201);
		strbuf_addf(&want, "\r\nLocation: http://%s/api/notes/", good_hosts[i]);
		ck_assert_ptr_nonnull(strstr(strbuf_str(&answer), strbuf_str(&want)));
		strbuf_release(&req);
		strbuf_release(&answer);
		strbuf_release(&want);
	}
	/* An Origin is echoed only when it is an allowed one, byte for byte: never this. */
	struct strbuf req = STRBUF_INIT, answer = STRBUF_INIT;
	strbuf_addstr(&req, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			    "Origin: http://a\rX-Injected: 1\r\nConnection: close\r\n\r\n");
	raw_exchange(req.buf, req.len, 10, &answer);
	char *head = raw_head(&answer);
	ck_assert(!head_has_line(head, "X-Injected"));
	ck_assert(!head_has_line(head, "Access-Control-Allow-Origin"));
	free(head);
	/* An uploaded file's client name never reaches Content-Disposition. */
	static const char PNG[] = "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52"
				  "\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
				  "\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\x9c\x63\x00\x01\x00\x00"
				  "\x05\x00\x01\x0d\x0a\x2d\xb4\x00\x00\x00\x00\x49\x45\x4e\x44\xae"
				  "\x42\x60\x82";
	struct strbuf form = STRBUF_INIT;
	strbuf_addstr(&form, "--B0undary\r\nContent-Disposition: form-data; name=\"image\"; "
			     "filename=\"..%2f..%2fx.png%0d%0aX-Injected: 1\"\r\n"
			     "Content-Type: image/png\r\n\r\n");
	strbuf_add(&form, PNG, sizeof(PNG) - 1);
	strbuf_addstr(&form, "\r\n--B0undary--\r\n");
	const char *headers[] = {NULL, "Content-Type: multipart/form-data; boundary=B0undary",
				 NULL};
	char auth[4096], url[256];
	struct test_response resp;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p.access);
	headers[0] = auth;
	snprintf(url, sizeof(url), "%s/api/account/image", ts.base);
	ck_assert_int_eq(test_http("PUT", url, headers, form.buf, form.len, &resp), 0);
	ck_assert_int_eq(resp.status, 200);
	json_t *j = json_loads(strbuf_str(&resp.body), 0, NULL);
	const char *image = json_string_value(json_object_get(j, "profile_image"));
	ck_assert_ptr_nonnull(image);
	test_response_release(&resp);
	ck_assert_int_eq(test_http("GET", image, NULL, NULL, 0, &resp), 0);
	ck_assert_int_eq(resp.status, 200);
	char *disposition = test_response_header(&resp, "Content-Disposition");
	ck_assert_ptr_nonnull(disposition);
	char want[128];
	snprintf(want, sizeof(want), "inline; filename=\"%s\"", strrchr(image, '/') + 1);
	ck_assert_str_eq(disposition, want);
	ck_assert_ptr_null(test_response_header(&resp, "X-Injected"));
	free(disposition);
	test_response_release(&resp);
	json_decref(j);
	strbuf_release(&form);
	strbuf_release(&req);
	strbuf_release(&answer);
	person_release(&p);
}
END_TEST

static double elapsed_ms(const char *path, const char *body, long *status, char **answer)
{
	struct test_response resp;
	double started = now_ms();
	*status = test_call(&ts, "POST", path, TEST_JSON, body, &resp, NULL);
	double ms = now_ms() - started;
	free(*answer);
	*answer = xstrdup(strbuf_str(&resp.body));
	test_response_release(&resp);
	return ms;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Medians of n timed POSTs of body_a and body_b to path, interleaved. */
static void median_pair(const char *path, const char *body_a, const char *body_b, double *a,
			double *b, char **answer_a, char **answer_b)
{
	double ta[9], tb[9];
	long status;
	for (int i = 0; i < 9; i++) {
		ta[i] = elapsed_ms(path, body_a, &status, answer_a);
		tb[i] = elapsed_ms(path, body_b, &status, answer_b);
	}
	qsort(ta, 9, sizeof(double), compare_doubles);
	qsort(tb, 9, sizeof(double), compare_doubles);
	*a = ta[4];
	*b = tb[4];
}

START_TEST(no_user_enumeration_through_login_or_reset)
{
	struct person p, inactive;
	json_t *j_unknown, *j_wrong, *j_inactive;
	char body[512];
	person_init(&p, "secenum");
	person_init(&inactive, "secenumoff");
	free(test_sql("UPDATE users SET is_active = false WHERE id = $1", inactive.a.user_id,
		      NULL));
	/* The same status and body for an unknown user, a wrong password, an inactive user. */
	ck_assert_int_eq(test_post(&ts, "/api/users/token", NULL,
				   json_pack("{s:s,s:s}", "username", "no-such-user-sec",
					     "password", TEST_PASSWORD),
				   &j_unknown),
			 401);
	ck_assert_int_eq(test_post(&ts, "/api/users/token", NULL,
				   json_pack("{s:s,s:s}", "username", p.a.username, "password",
					     "Wrong-Password-1"),
				   &j_wrong),
			 401);
	ck_assert_int_eq(test_post(&ts, "/api/users/token", NULL,
				   json_pack("{s:s,s:s}", "username", inactive.a.username,
					     "password", TEST_PASSWORD),
				   &j_inactive),
			 401);
	ck_assert(json_equal(j_unknown, j_wrong));
	ck_assert(json_equal(j_unknown, j_inactive));
	ck_assert_str_eq(code_of(j_unknown), "no_active_account");
	json_decref(j_unknown);
	json_decref(j_wrong);
	json_decref(j_inactive);

	/* Similar times: the unknown user is hashed against too (five tries against noise). */
	double unknown = 0, wrong = 0, ratio = 0;
	char *answer_a = NULL, *answer_b = NULL;
	char wrong_body[256];
	snprintf(wrong_body, sizeof(wrong_body),
		 "{\"username\":\"%s\",\"password\":\"Wrong-Password-1\"}", p.a.username);
	for (int round = 0; round < 5; round++) {
		median_pair("/api/users/token",
			    "{\"username\":\"no-such-user-sec\",\"password\":\"Wrong-Password-1\"}",
			    wrong_body, &unknown, &wrong, &answer_a, &answer_b);
		ratio = unknown / wrong;
		if (ratio > 0.67 && ratio < 1.5)
			break;
	}
	/* Skipping the hash for an unknown user would make it many times faster, not 1.5. */
	ck_assert_msg(ratio > 0.67 && ratio < 1.5, "login: unknown %.1f ms, wrong %.1f ms", unknown,
		      wrong);
	ck_assert_str_eq(answer_a, answer_b);

	/* Reset: the same answer, and no slower for a known address (the mail goes by outbox). */
	double known_ms = 0, unknown_ms = 0;
	snprintf(body, sizeof(body), "{\"email\":\"%s\"}", p.a.email);
	for (int round = 0; round < 3; round++) {
		median_pair("/api/users/password/reset", body,
			    "{\"email\":\"nobody-sec@example.com\"}", &known_ms, &unknown_ms,
			    &answer_a, &answer_b);
		if (known_ms - unknown_ms < 15.0 && unknown_ms - known_ms < 15.0)
			break;
	}
	ck_assert_msg(known_ms - unknown_ms < 15.0 && unknown_ms - known_ms < 15.0,
		      "reset: known %.1f ms, unknown %.1f ms", known_ms, unknown_ms);
	ck_assert_str_eq(answer_a, answer_b);
	free(answer_a);
	free(answer_b);
	person_release(&p);
	person_release(&inactive);
}
END_TEST

/* One request of the hardening tests and what it must answer. */
struct probe {
	const char *method;
	const char *path;
	const char *const *headers;
	const char *body;
	long status;
};

static void assert_hardened(const struct probe *pr, const struct test_response *resp)
{
	char *nosniff = test_response_header(resp, "X-Content-Type-Options");
	char *server = test_response_header(resp, "Server");
	char *powered = test_response_header(resp, "X-Powered-By");
	ck_assert_msg(resp->status == pr->status, "%s %s: %ld", pr->method, pr->path, resp->status);
	ck_assert_msg(nosniff && !strcmp(nosniff, "nosniff"), "%s %s (%ld): no nosniff", pr->method,
		      pr->path, resp->status);
	ck_assert_msg(!server, "%s %s: Server: %s", pr->method, pr->path, server);
	ck_assert_msg(!powered, "%s %s: X-Powered-By: %s", pr->method, pr->path, powered);
	free(nosniff);
	free(server);
	free(powered);
}

START_TEST(every_answer_is_nosniff_without_a_banner)
{
	struct person p;
	struct test_response resp;
	json_t *j;
	person_init(&p, "sechdr");
	char auth[4096];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p.access);
	const char *const bearer[] = {auth, "Content-Type: application/json", NULL};
	const char *const xml[] = {"Content-Type: text/xml", NULL};
	const char *const preflight[] = {"Origin: http://elsewhere.example",
					 "Access-Control-Request-Method: POST", NULL};
	char big[BODY_LIMIT + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	/* An uploaded image for /media. */
	static const char GIF[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!"
				  "\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00"
				  "\x00\x02\x02\x44\x01\x00;";
	struct strbuf form = STRBUF_INIT;
	strbuf_addstr(&form, "--Bd\r\nContent-Disposition: form-data; name=\"image\"; "
			     "filename=\"a.gif\"\r\n\r\n");
	strbuf_add(&form, GIF, sizeof(GIF) - 1);
	strbuf_addstr(&form, "\r\n--Bd--\r\n");
	const char *const upload_headers[] = {
		auth, "Content-Type: multipart/form-data; boundary=Bd", NULL};
	char url[256];
	snprintf(url, sizeof(url), "%s/api/account/image", ts.base);
	ck_assert_int_eq(test_http("PUT", url, upload_headers, form.buf, form.len, &resp), 0);
	ck_assert_int_eq(resp.status, 200);
	j = json_loads(strbuf_str(&resp.body), 0, NULL);
	const char *image = json_string_value(json_object_get(j, "profile_image"));
	ck_assert_ptr_nonnull(image);
	char media[256];
	snprintf(media, sizeof(media), "%s", strstr(image, "/media/"));
	json_decref(j);
	test_response_release(&resp);
	strbuf_release(&form);

	/* A list's ETag, for a 304. */
	ck_assert_int_eq(test_call(&ts, "GET", "/api/tags", NULL, NULL, &resp, NULL), 200);
	char *etag = test_response_header(&resp, "ETag");
	ck_assert_ptr_nonnull(etag);
	test_response_release(&resp);
	char if_none_match[128];
	snprintf(if_none_match, sizeof(if_none_match), "If-None-Match: %s", etag);
	const char *const revalidate[] = {if_none_match, NULL};

	const struct probe probes[] = {
		{"GET", "/api/health", NULL, NULL, 200},
		{"GET", "/api", NULL, NULL, 200},
		{"GET", "/api/tags", revalidate, NULL, 304},
		{"GET", "/api/projects", NULL, NULL, 200},
		{"GET", "/api/users/me", bearer, NULL, 200},
		{"HEAD", "/api/health", NULL, NULL, 200},
		{"GET", "/api/nope", NULL, NULL, 404},
		{"GET", "/nope", NULL, NULL, 404},
		{"DELETE", "/api/health", NULL, NULL, 405},
		{"GET", "/api/users/me", NULL, NULL, 401},
		{"GET", "/api/users/me", test_bearer("bad.to.ken"), NULL, 401},
		{"POST", "/api/notes", bearer, "{", 400},
		{"POST", "/api/notes", bearer, big, 413},
		{"POST", "/api/notes", (const char *const[]){auth, xml[0], NULL}, "<a/>", 415},
		{"OPTIONS", "/api/projects", preflight, NULL, 200},
		{"OPTIONS", "/api/projects", NULL, NULL, 200},
		{"GET", media, NULL, NULL, 200},
		{"GET", "/media/profiles/none.png", NULL, NULL, 404},
		{"GET", "/api/docs", NULL, NULL, 200},
		{"GET", "/api/docs/assets/init.js", NULL, NULL, 200},
		{"GET", "/api/openapi.yaml", NULL, NULL, 200},
		{"GET", "/api/.well-known/jwks.json", NULL, NULL, 200},
		{"POST", "/api/users/token", TEST_JSON, "{\"username\":\"x\",\"password\":\"y\"}",
		 401},
	};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		ck_assert_int_eq(test_call(&ts, probes[i].method, probes[i].path, probes[i].headers,
					   probes[i].body, &resp, NULL),
				 probes[i].status);
		assert_hardened(&probes[i], &resp);
		test_response_release(&resp);
	}
	/* The cached copy of an answer too (the second anonymous read is a hit). */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(test_call(&ts, "GET", "/api/projects", NULL, NULL, &resp, NULL),
				 200);
		assert_hardened(&probes[3], &resp);
		test_response_release(&resp);
	}
	/* The Host refusal is built by the dispatcher too. */
	struct strbuf answer = STRBUF_INIT;
	const char bad_host[] =
		"GET /api/health HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n";
	raw_exchange(bad_host, sizeof(bad_host) - 1, 10, &answer);
	ck_assert_int_eq(raw_status(&answer), 400);
	char *head = raw_head(&answer);
	ck_assert(head_has_line(head, "X-Content-Type-Options: nosniff"));
	ck_assert(!head_has_line(head, "Server"));
	free(head);
	strbuf_release(&answer);
	free(etag);
	person_release(&p);
}
END_TEST

/* The Cache-Control of an answer must be no-store. */
static void assert_no_store(const struct test_response *resp, const char *what)
{
	char *cache_control = test_response_header(resp, "Cache-Control");
	ck_assert_msg(cache_control && !strcmp(cache_control, "no-store"), "%s: Cache-Control %s",
		      what, cache_control ? cache_control : "missing");
	free(cache_control);
}

START_TEST(token_answers_are_not_stored)
{
	struct test_account a;
	struct test_response resp;
	json_t *j;
	char body[512];
	test_register(&ts, &a, "secstore");
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", a.username,
		 TEST_PASSWORD);
	ck_assert_int_eq(test_call(&ts, "POST", "/api/users/token", TEST_JSON, body, &resp, &j),
			 200);
	assert_no_store(&resp, "token");
	snprintf(body, sizeof(body), "{\"refresh\":\"%s\"}",
		 json_string_value(json_object_get(j, "refresh")));
	json_decref(j);
	test_response_release(&resp);
	ck_assert_int_eq(
		test_call(&ts, "POST", "/api/users/token/refresh", TEST_JSON, body, &resp, &j),
		200);
	assert_no_store(&resp, "refresh");
	ck_assert_ptr_nonnull(json_object_get(j, "access"));
	json_decref(j);
	test_response_release(&resp);
	/* The registration answer carries no token (API.md): nothing to keep from caches. */
	ck_assert_int_eq(test_call(&ts, "GET", "/api/users/register", NULL, NULL, &resp, &j), 405);
	json_decref(j);
	test_response_release(&resp);
}
END_TEST

/* The body must not hold any of the words that betray internals. */
static void assert_no_internals(const char *body)
{
	const char *const words[] = {"secret-internal",
				     "secret_constraint",
				     "SQL",
				     "sql",
				     "INSERT",
				     "notes",
				     "duplicate key",
				     "/tmp/",
				     media_root,
				     "directory",
				     "errno",
				     "PQ",
				     "ERROR:"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		ck_assert_msg(!strstr(body, words[i]), "\"%s\" in %s", words[i], body);
}

START_TEST(errors_do_not_reveal_internals)
{
	struct person p;
	struct test_response resp;
	person_init(&p, "secint");
	/* A trigger that fails the way a bug or a constraint would, for marked titles only. */
	free(test_sql("CREATE OR REPLACE FUNCTION security_test_fail() RETURNS trigger "
		      "LANGUAGE plpgsql AS $f$ BEGIN "
		      "IF NEW.title = 'provoke-internal-error' THEN "
		      "RAISE EXCEPTION 'secret-internal detail in /tmp/x' USING ERRCODE = 'XX000'; "
		      "ELSIF NEW.title = 'provoke-unique-violation' THEN "
		      "RAISE EXCEPTION 'duplicate key value violates unique constraint "
		      "\"secret_constraint\"' USING ERRCODE = '23505', "
		      "CONSTRAINT = 'secret_constraint'; END IF; RETURN NEW; END $f$",
		      NULL, NULL));
	free(test_sql("DROP TRIGGER IF EXISTS security_test_fail ON notes", NULL, NULL));
	free(test_sql("CREATE TRIGGER security_test_fail BEFORE INSERT ON notes FOR EACH ROW "
		      "EXECUTE FUNCTION security_test_fail()",
		      NULL, NULL));

	ck_assert_int_eq(test_call(&ts, "POST", "/api/notes", test_bearer(p.access),
				   "{\"title\":\"provoke-internal-error\"}", &resp, NULL),
			 500);
	ck_assert_str_eq(strbuf_str(&resp.body),
			 "{\"detail\":\"A server error occurred.\",\"code\":\"error\"}");
	assert_no_internals(strbuf_str(&resp.body));
	test_response_release(&resp);
	ck_assert_int_eq(test_call(&ts, "POST", "/api/notes", test_bearer(p.access),
				   "{\"title\":\"provoke-unique-violation\"}", &resp, NULL),
			 400);
	assert_no_internals(strbuf_str(&resp.body));
	test_response_release(&resp);
	free(test_sql("DROP TRIGGER security_test_fail ON notes", NULL, NULL));
	free(test_sql("DROP FUNCTION security_test_fail()", NULL, NULL));

	/* A file error: the profiles folder of MEDIA_ROOT is a plain file. */
	char path[128];
	snprintf(path, sizeof(path), "%s/profiles", media_root);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	static const char GIF[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!"
				  "\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00"
				  "\x00\x02\x02\x44\x01\x00;";
	struct strbuf form = STRBUF_INIT;
	strbuf_addstr(&form, "--Bd\r\nContent-Disposition: form-data; name=\"image\"; "
			     "filename=\"a.gif\"\r\n\r\n");
	strbuf_add(&form, GIF, sizeof(GIF) - 1);
	strbuf_addstr(&form, "\r\n--Bd--\r\n");
	char auth[4096], url[256];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p.access);
	const char *const headers[] = {auth, "Content-Type: multipart/form-data; boundary=Bd",
				       NULL};
	snprintf(url, sizeof(url), "%s/api/account/image", ts.base);
	ck_assert_int_eq(test_http("PUT", url, headers, form.buf, form.len, &resp), 0);
	ck_assert_int_ge(resp.status, 500);
	assert_no_internals(strbuf_str(&resp.body));
	test_response_release(&resp);
	ck_assert_int_eq(test_call(&ts, "GET", "/media/profiles/x.png", NULL, NULL, &resp, NULL),
			 404);
	assert_no_internals(strbuf_str(&resp.body));
	test_response_release(&resp);
	strbuf_release(&form);
	/* Parse errors quote the client's bytes, never ours. */
	ck_assert_int_eq(
		test_call(&ts, "POST", "/api/notes", test_bearer(p.access), "{\"a\":", &resp, NULL),
		400);
	assert_no_internals(strbuf_str(&resp.body));
	test_response_release(&resp);
	person_release(&p);
}
END_TEST

Suite *security_suite(void)
{
	Suite *s = suite_create("security");
	TCase *tc = tcase_create("bad input");
	tcase_add_checked_fixture(tc, security_up, security_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, oversized_headers_are_refused_by_the_http_layer);
	tcase_add_test(tc, oversized_bodies_are_413);
	tcase_add_test(tc, invalid_utf8_is_a_parse_error);
	tcase_add_test(tc, nul_inside_json_strings_is_400);
	tcase_add_test(tc, numbers_out_of_range);
	tcase_add_test(tc, deep_nesting_is_a_parse_error);
	tcase_add_test(tc, duplicate_keys_the_last_one_wins);
	tcase_add_test(tc, wrong_types_for_every_field_kind);
	tcase_add_test(tc, sql_metacharacters_are_only_data);
	tcase_add_test(tc, media_path_traversal_is_404);
	tcase_add_test(tc, forged_tokens_are_401);
	tcase_add_test(tc, hs256_with_the_public_key_is_refused);
	tcase_add_test(tc, header_injection_never_reaches_a_header);
	tcase_add_test(tc, no_user_enumeration_through_login_or_reset);
	tcase_add_test(tc, every_answer_is_nosniff_without_a_banner);
	tcase_add_test(tc, token_answers_are_not_stored);
	tcase_add_test(tc, errors_do_not_reveal_internals);
	suite_add_tcase(s, tc);
	return s;
}
