/*
 * HTTP tests of the conventions every route shares, against the real server
 * (started in this process on a free port) and the real test database. Two
 * test-only routes stand in for body-carrying endpoints; they exist only in
 * this binary.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "support.h"

static struct test_server ts;

static void echo_body(struct http_ctx *ctx)
{
	json_t *j_body;
	if (http_json_object_or_reply(ctx, &j_body))
		return;
	http_reply_json(ctx, 200, json_incref(j_body));
}

static void echo_param(struct http_ctx *ctx)
{
	http_reply_json(ctx, 200, json_pack("{s:s}", "id", http_param(ctx, 0)));
}

static const struct route test_routes[] = {
	{"POST", "/api/test/echo", echo_body, ROUTE_PUBLIC},
	{"GET", "/api/test/items/{id}", echo_param, ROUTE_PUBLIC},
};

static void server_up(void)
{
	setenv("CORS_ALLOWED_ORIGINS", "http://localhost:5173", 1);
	setenv("MAX_BODY_BYTES", "4096", 1);
	setenv("DB_POOL_SIZE", "3", 1);
	test_server_start(&ts, test_routes, sizeof(test_routes) / sizeof(test_routes[0]));
}

static void server_down(void)
{
	test_server_stop(&ts);
}

/* Request path and parse the JSON body into *j (caller decrefs). */
static long request(const char *method, const char *path, const char *const *headers,
		    const char *body, struct test_response *resp, json_t **j)
{
	return test_call(&ts, method, path, headers, body, resp, j);
}

static void assert_header(const struct test_response *resp, const char *name, const char *want)
{
	char *got = test_response_header(resp, name);
	if (!want) {
		ck_assert_msg(got == NULL, "unexpected %s: %s", name, got);
		return;
	}
	ck_assert_msg(got != NULL, "no %s header", name);
	ck_assert_str_eq(got, want);
	free(got);
}

static void assert_error(json_t *j, const char *code, const char *detail)
{
	ck_assert_str_eq(json_string_value(json_object_get(j, "code")), code);
	ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), detail);
}

static const char *const JSON_HEADERS[] = {"Content-Type: application/json", NULL};

START_TEST(health_and_route_list)
{
	struct test_response resp;
	json_t *j;

	ck_assert_int_eq(request("GET", "/api/health", NULL, NULL, &resp, &j), 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	ck_assert_str_eq(json_string_value(json_object_get(j, "database")), "ok");
	assert_header(&resp, "Content-Type", "application/json; charset=utf-8");
	assert_header(&resp, "Allow", "GET, HEAD, OPTIONS");
	json_decref(j);
	test_response_release(&resp);

	ck_assert_int_eq(request("GET", "/api", NULL, NULL, &resp, &j), 200);
	ck_assert(json_is_array(j));
	int found_api = 0, found_health = 0;
	size_t i;
	json_t *j_route;
	json_array_foreach(j, i, j_route)
	{
		ck_assert_int_eq(json_object_size(j_route), 1);
		const char *path = json_string_value(json_object_get(j_route, "GET"));
		found_api |= path && !strcmp(path, "/api");
		found_health |= path && !strcmp(path, "/api/health");
	}
	ck_assert(found_api && found_health);
	json_decref(j);
	test_response_release(&resp);

	/* HEAD answers like GET, without a body. */
	ck_assert_int_eq(request("HEAD", "/api/health", NULL, NULL, &resp, NULL), 200);
	ck_assert_int_eq(resp.body.len, 0);
	test_response_release(&resp);
}
END_TEST

START_TEST(trailing_slash_is_answered_directly)
{
	struct test_response resp;
	json_t *j;
	ck_assert_int_eq(request("GET", "/api/health/", NULL, NULL, &resp, &j), 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	json_decref(j);
	test_response_release(&resp);
	ck_assert_int_eq(request("GET", "/api/", NULL, NULL, &resp, &j), 200);
	ck_assert(json_is_array(j));
	json_decref(j);
	test_response_release(&resp);
	ck_assert_int_eq(request("GET", "/api/test/items/11111111-1111-4111-8111-111111111111/",
				 NULL, NULL, &resp, &j),
			 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")),
			 "11111111-1111-4111-8111-111111111111");
	json_decref(j);
	test_response_release(&resp);
}
END_TEST

START_TEST(unknown_route_is_404_json)
{
	const char *paths[] = {"/api/nope", "/nope", "/api/test/items/42", "/api/health//"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct test_response resp;
		json_t *j;
		ck_assert_int_eq(request("GET", paths[i], NULL, NULL, &resp, &j), 404);
		assert_error(j, "not_found", "Not found.");
		assert_header(&resp, "Content-Type", "application/json; charset=utf-8");
		json_decref(j);
		test_response_release(&resp);
	}
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
	struct test_response resp;
	json_t *j;
	ck_assert_int_eq(request("DELETE", "/api/health", NULL, NULL, &resp, &j), 405);
	assert_error(j, "method_not_allowed", "Method \"DELETE\" not allowed.");
	assert_header(&resp, "Allow", "GET, HEAD, OPTIONS");
	json_decref(j);
	test_response_release(&resp);
	ck_assert_int_eq(request("GET", "/api/test/echo", NULL, NULL, &resp, &j), 405);
	assert_header(&resp, "Allow", "POST, OPTIONS");
	json_decref(j);
	test_response_release(&resp);
}
END_TEST

START_TEST(body_over_the_limit_is_413)
{
	struct test_response resp;
	json_t *j;
	size_t len = 5000;
	char *big = xmalloc(len + 1);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	big[len] = '\0';
	ck_assert_int_eq(request("POST", "/api/test/echo", JSON_HEADERS, big, &resp, &j), 413);
	assert_error(j, "payload_too_large", "Request body is too large.");
	json_decref(j);
	test_response_release(&resp);
	/* Any path: the limit is checked before routing. */
	ck_assert_int_eq(request("POST", "/api/nope", JSON_HEADERS, big, &resp, &j), 413);
	json_decref(j);
	test_response_release(&resp);
	free(big);
}
END_TEST

START_TEST(non_json_content_type_is_415)
{
	struct test_response resp;
	json_t *j;
	const char *plain[] = {"Content-Type: text/plain", NULL};
	const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	ck_assert_int_eq(request("POST", "/api/test/echo", plain, "hello", &resp, &j), 415);
	assert_error(j, "unsupported_media_type",
		     "Unsupported media type \"text/plain\" in request.");
	json_decref(j);
	test_response_release(&resp);
	ck_assert_int_eq(request("POST", "/api/test/echo", form, "a=b", &resp, &j), 415);
	assert_error(j, "unsupported_media_type",
		     "Unsupported media type \"application/x-www-form-urlencoded\" in request.");
	json_decref(j);
	test_response_release(&resp);
}
END_TEST

START_TEST(json_bodies)
{
	struct test_response resp;
	json_t *j;
	const char *charset[] = {"Content-Type: application/json; charset=utf-8", NULL};

	ck_assert_int_eq(request("POST", "/api/test/echo", JSON_HEADERS,
				 "{\"username\": \"alice\",", &resp, &j),
			 400);
	ck_assert_str_eq(json_string_value(json_object_get(j, "code")), "parse_error");
	ck_assert(!strncmp(json_string_value(json_object_get(j, "detail")), "JSON parse error - ",
			   19));
	json_decref(j);
	test_response_release(&resp);

	ck_assert_int_eq(request("POST", "/api/test/echo", JSON_HEADERS, "[\"alice\"]", &resp, &j),
			 400);
	ck_assert_str_eq(
		json_string_value(json_array_get(json_object_get(j, "non_field_errors"), 0)),
		"Invalid data. Expected a dictionary, but got list.");
	json_decref(j);
	test_response_release(&resp);

	/* Valid JSON with a charset parameter, non-ASCII text kept as UTF-8 on the way out. */
	ck_assert_int_eq(request("POST", "/api/test/echo", charset,
				 "{\"name\": \"Carol Nu\\u00f1ez\"}", &resp, &j),
			 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "Carol Nu\xc3\xb1"
									"ez");
	ck_assert_ptr_nonnull(strstr(strbuf_str(&resp.body), "Nu\xc3\xb1"
							     "ez"));
	ck_assert_ptr_null(strstr(strbuf_str(&resp.body), ": "));
	json_decref(j);
	test_response_release(&resp);

	/* No body at all is an empty object, as DRF. */
	ck_assert_int_eq(request("POST", "/api/test/echo", NULL, NULL, &resp, &j), 200);
	ck_assert(json_is_object(j) && json_object_size(j) == 0);
	json_decref(j);
	test_response_release(&resp);
}
END_TEST

START_TEST(cors_headers_and_preflight)
{
	struct test_response resp;
	json_t *j;
	const char *allowed[] = {"Origin: http://localhost:5173", NULL};
	const char *evil[] = {"Origin: http://evil.example", NULL};
	const char *preflight[] = {
		"Origin: http://localhost:5173", "Access-Control-Request-Method: POST",
		"Access-Control-Request-Headers: authorization, content-type", NULL};
	const char *evil_preflight[] = {"Origin: http://evil.example",
					"Access-Control-Request-Method: POST", NULL};

	ck_assert_int_eq(request("GET", "/api/health", allowed, NULL, &resp, &j), 200);
	assert_header(&resp, "Access-Control-Allow-Origin", "http://localhost:5173");
	assert_header(&resp, "Vary", "Origin");
	json_decref(j);
	test_response_release(&resp);

	ck_assert_int_eq(request("GET", "/api/health", evil, NULL, &resp, &j), 200);
	assert_header(&resp, "Access-Control-Allow-Origin", NULL);
	json_decref(j);
	test_response_release(&resp);

	ck_assert_int_eq(request("OPTIONS", "/api/test/echo", preflight, NULL, &resp, NULL), 200);
	assert_header(&resp, "Access-Control-Allow-Origin", "http://localhost:5173");
	assert_header(&resp, "Access-Control-Allow-Methods",
		      "DELETE, GET, OPTIONS, PATCH, POST, PUT");
	assert_header(&resp, "Access-Control-Max-Age", "86400");
	char *headers = test_response_header(&resp, "Access-Control-Allow-Headers");
	ck_assert_ptr_nonnull(headers);
	ck_assert_ptr_nonnull(strstr(headers, "authorization"));
	ck_assert_ptr_nonnull(strstr(headers, "content-type"));
	free(headers);
	ck_assert_int_eq(resp.body.len, 0);
	test_response_release(&resp);

	ck_assert_int_eq(request("OPTIONS", "/api/test/echo", evil_preflight, NULL, &resp, NULL),
			 200);
	assert_header(&resp, "Access-Control-Allow-Origin", NULL);
	assert_header(&resp, "Access-Control-Allow-Methods", NULL);
	test_response_release(&resp);

	/* Plain OPTIONS, not a preflight: the route's description with Allow. */
	ck_assert_int_eq(request("OPTIONS", "/api/test/echo", NULL, NULL, &resp, &j), 200);
	assert_header(&resp, "Allow", "POST, OPTIONS");
	ck_assert(json_is_array(json_object_get(j, "parses")));
	json_decref(j);
	test_response_release(&resp);
}
END_TEST

START_TEST(health_follows_the_database)
{
	struct test_response resp;
	json_t *j;

	ck_assert_int_eq(request("GET", "/api/health", NULL, NULL, &resp, &j), 200);
	json_decref(j);
	test_response_release(&resp);

	ck_assert_int_eq(test_pg_stop(), 0);
	ck_assert_int_eq(request("GET", "/api/health", NULL, NULL, &resp, &j), 503);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "unavailable");
	ck_assert_str_eq(json_string_value(json_object_get(j, "database")), "down");
	json_decref(j);
	test_response_release(&resp);

	/* Same server process: the pool reconnects by itself once the database is back. */
	ck_assert_int_eq(test_pg_start(), 0);
	ck_assert_int_eq(request("GET", "/api/health", NULL, NULL, &resp, &j), 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "database")), "ok");
	json_decref(j);
	test_response_release(&resp);
	/* Every pooled connection was broken by the restart; none may fail a request. */
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(request("GET", "/api/health", NULL, NULL, &resp, &j), 200);
		json_decref(j);
		test_response_release(&resp);
	}
}
END_TEST

/* ---- absolute URLs behind a reverse proxy ---- */

/* A server with TRUSTED_PROXIES=trusted and USE_X_FORWARDED_HOST=forwarded_host (NULL: unset). */
static void proxied_server_up(const char *trusted, const char *forwarded_host)
{
	setenv("TRUSTED_PROXIES", trusted, 1);
	if (forwarded_host)
		setenv("USE_X_FORWARDED_HOST", forwarded_host, 1);
	else
		unsetenv("USE_X_FORWARDED_HOST");
	server_up();
}

/* Two more profiles, so that a page of one has a next link. */
static void two_profiles(void)
{
	struct test_account a, b;
	test_register(&ts, &a, "proxy");
	test_register(&ts, &b, "proxy");
}

/*
 * GET the first page of one profile with headers (NULL-terminated, may be
 * NULL); the status, and on 200 the next link in *next (new string).
 */
static long next_link(const char *const *headers, char **next)
{
	struct test_response resp;
	json_t *j;
	long status = request("GET", "/api/profiles?page_size=1", headers, NULL, &resp, &j);
	*next = NULL;
	if (status == 200)
		*next = xstrdup(json_string_value(json_object_get(j, "next")));
	else if (status == 400)
		assert_error(j, "invalid_host", "Invalid HTTP_HOST header.");
	json_decref(j);
	test_response_release(&resp);
	return status;
}

/* The next link the first page must have on a server reached as scheme://host. */
static void want_next(char *out, size_t size, const char *scheme, const char *host)
{
	/* ts.base is "http://127.0.0.1:PORT". */
	snprintf(out, size, "%s://%s/api/profiles?page=2&page_size=1", scheme,
		 host ? host : ts.base + strlen("http://"));
}

/* One request's forwarding headers and the next link they must give. */
struct forwarded_case {
	const char *headers[3];
	int status;
	const char *scheme;
	const char *host; /* NULL: the server's own 127.0.0.1:PORT */
};

static void check_cases(const struct forwarded_case *cases, size_t n)
{
	char want[256];
	for (size_t i = 0; i < n; i++) {
		char *next;
		long status = next_link(cases[i].headers, &next);
		ck_assert_msg(status == cases[i].status, "case %zu (%s): %ld", i,
			      cases[i].headers[0] ? cases[i].headers[0] : "no header", status);
		if (status == 200) {
			want_next(want, sizeof(want), cases[i].scheme, cases[i].host);
			ck_assert_msg(next && !strcmp(next, want), "case %zu (%s): next %s, not %s",
				      i, cases[i].headers[0] ? cases[i].headers[0] : "no header",
				      next ? next : "null", want);
		}
		free(next);
	}
}

START_TEST(forwarded_headers_from_an_untrusted_peer_are_ignored)
{
	/* A proxy is listed, but the peer (127.0.0.1) is not it: nothing it says is taken. */
	proxied_server_up("10.0.0.0/8", "on");
	two_profiles();
	const struct forwarded_case cases[] = {
		{{"X-Forwarded-Proto: https", NULL}, 200, "http", NULL},
		{{"X-Forwarded-Host: api.example.org", NULL}, 200, "http", NULL},
		{{"X-Forwarded-Host: evil/path", "X-Forwarded-Proto: https", NULL},
		 200,
		 "http",
		 NULL},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
	server_down();
}
END_TEST

START_TEST(forwarded_proto_from_a_trusted_proxy_sets_the_scheme)
{
	struct test_response resp;
	struct test_account a;
	char want[256];
	json_t *j;

	proxied_server_up("127.0.0.1", NULL);
	two_profiles();
	/* The same URL each time: the response cache must not hand one scheme's links to another. */
	const struct forwarded_case cases[] = {
		{{"X-Forwarded-Proto: https", NULL}, 200, "https", NULL},
		{{NULL}, 200, "http", NULL},
		{{"X-Forwarded-Proto: HTTPS", NULL}, 200, "https", NULL},
		{{"X-Forwarded-Proto: https, http", NULL}, 200, "https", NULL},
		{{"X-Forwarded-Proto:  http ,https", NULL}, 200, "http", NULL},
		{{"X-Forwarded-Proto: ftp", NULL}, 200, "http", NULL},
		{{"X-Forwarded-Proto: https2", NULL}, 200, "http", NULL},
		{{"X-Forwarded-Proto: , https", NULL}, 200, "http", NULL},
		{{"X-Forwarded-Proto: https\"><x", NULL}, 200, "http", NULL},
		/* Off by default: the host stays Host's, whatever the proxy says. */
		{{"X-Forwarded-Host: api.example.org", "X-Forwarded-Proto: https", NULL},
		 200,
		 "https",
		 NULL},
		{{"X-Forwarded-Host: evil/path", NULL}, 200, "http", NULL},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));

	/* The Location of a 201. */
	test_unique(a.username, sizeof(a.username), "proxyloc");
	snprintf(a.email, sizeof(a.email), "%s@example.com", a.username);
	json_t *j_user = json_pack("{s:s,s:s,s:s}", "username", a.username, "email", a.email,
				   "password", TEST_PASSWORD);
	char *body = json_dumps(j_user, 0);
	json_decref(j_user);
	const char *const headers[] = {"Content-Type: application/json", "X-Forwarded-Proto: https",
				       NULL};
	ck_assert_int_eq(request("POST", "/api/users/register", headers, body, &resp, &j), 201);
	snprintf(want, sizeof(want), "https://%s/api/profiles/%s", ts.base + strlen("http://"),
		 json_string_value(json_object_get(json_object_get(j, "profile"), "id")));
	assert_header(&resp, "Location", want);
	json_decref(j);
	test_response_release(&resp);
	free(body);
	server_down();
}
END_TEST

START_TEST(forwarded_host_with_use_x_forwarded_host)
{
	proxied_server_up("127.0.0.1", "on");
	two_profiles();
	const struct forwarded_case cases[] = {
		{{"X-Forwarded-Host: api.example.org", "X-Forwarded-Proto: https", NULL},
		 200,
		 "https",
		 "api.example.org"},
		{{NULL}, 200, "http", NULL},
		{{"X-Forwarded-Host: api.example.org:8443, inner.local", NULL},
		 200,
		 "http",
		 "api.example.org:8443"},
		{{"X-Forwarded-Host: [::1]:8000", NULL}, 200, "http", "[::1]:8000"},
		/* Refused exactly as an invalid Host is: it would be echoed into the links. */
		{{"X-Forwarded-Host: evil/path", NULL}, 400, NULL, NULL},
		{{"X-Forwarded-Host: evil\"<x>", NULL}, 400, NULL, NULL},
		{{"X-Forwarded-Host: evil host", NULL}, 400, NULL, NULL},
		{{"X-Forwarded-Host: , api.example.org", NULL}, 400, NULL, NULL},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
	server_down();
}
END_TEST

Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("conventions");
	tcase_add_checked_fixture(tc, server_up, server_down);
	tcase_add_test(tc, health_and_route_list);
	tcase_add_test(tc, trailing_slash_is_answered_directly);
	tcase_add_test(tc, unknown_route_is_404_json);
	tcase_add_test(tc, wrong_method_is_405_with_allow);
	tcase_add_test(tc, body_over_the_limit_is_413);
	tcase_add_test(tc, non_json_content_type_is_415);
	tcase_add_test(tc, json_bodies);
	tcase_add_test(tc, cors_headers_and_preflight);
	suite_add_tcase(s, tc);
	tc = tcase_create("database");
	tcase_add_checked_fixture(tc, server_up, server_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, health_follows_the_database);
	suite_add_tcase(s, tc);
	tc = tcase_create("proxy");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, forwarded_headers_from_an_untrusted_peer_are_ignored);
	tcase_add_test(tc, forwarded_proto_from_a_trusted_proxy_sets_the_scheme);
	tcase_add_test(tc, forwarded_host_with_use_x_forwarded_host);
	suite_add_tcase(s, tc);
	return s;
}
