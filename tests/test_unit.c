/* Unit tests: settings, routing, small utilities. No server, no database. */
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "core/config.h"
#include "support.h"

START_TEST(duration_units)
{
	long s = 0;
	ck_assert_int_eq(config_parse_duration("300", &s), 0);
	ck_assert_int_eq(s, 300);
	ck_assert_int_eq(config_parse_duration("45s", &s), 0);
	ck_assert_int_eq(s, 45);
	ck_assert_int_eq(config_parse_duration("5m", &s), 0);
	ck_assert_int_eq(s, 300);
	ck_assert_int_eq(config_parse_duration(" 1h ", &s), 0);
	ck_assert_int_eq(s, 3600);
	ck_assert_int_eq(config_parse_duration("1d", &s), 0);
	ck_assert_int_eq(s, 86400);
	ck_assert_int_eq(config_parse_duration("", &s), -1);
	ck_assert_int_eq(config_parse_duration("5 minutes", &s), -1);
	ck_assert_int_eq(config_parse_duration("-5", &s), -1);
	ck_assert_int_eq(config_parse_duration("99999999999999999999d", &s), -1);
}
END_TEST

START_TEST(config_defaults)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	unsetenv("PORT");
	unsetenv("ACCESS_TOKEN_LIFETIME");
	unsetenv("CORS_ALLOWED_ORIGINS");
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(cfg.port, 8000);
	ck_assert_int_eq(cfg.access_token_lifetime, 300);
	ck_assert_int_eq(cfg.refresh_token_lifetime, 86400);
	ck_assert_int_eq(cfg.password_reset_timeout, 3600);
	ck_assert_int_eq(cfg.max_body_bytes, 1024 * 1024);
	ck_assert_str_eq(cfg.jwt_algorithm, "HS256");
	ck_assert_str_eq(cfg.email_backend, "console");
	ck_assert_int_ge(cfg.http_threads, 1);
	config_release(&cfg);
	strbuf_release(&errors);
}
END_TEST

START_TEST(config_reports_every_bad_setting)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	setenv("PORT", "eighty", 1);
	setenv("ACCESS_TOKEN_LIFETIME", "5 minutes", 1);
	setenv("JWT_ALGORITHM", "none", 1);
	setenv("EMAIL_BACKEND", "pigeon", 1);
	setenv("CORS_ALLOWED_ORIGINS", "http://ok.example, not-an-origin, http://slash.example/",
	       1);
	ck_assert_int_eq(config_load(&cfg, &errors), -1);
	const char *text = strbuf_str(&errors);
	ck_assert_ptr_nonnull(
		strstr(text, "PORT: expected a whole number from 0 to 65535, got \"eighty\""));
	ck_assert_ptr_nonnull(strstr(text, "ACCESS_TOKEN_LIFETIME"));
	ck_assert_ptr_nonnull(strstr(text, "JWT_ALGORITHM"));
	ck_assert_ptr_nonnull(strstr(text, "EMAIL_BACKEND"));
	ck_assert_ptr_nonnull(strstr(text, "\"not-an-origin\""));
	ck_assert_ptr_nonnull(strstr(text, "\"http://slash.example/\""));
	ck_assert_int_eq(cfg.n_cors_origins, 1);
	ck_assert(config_cors_allowed(&cfg, "http://ok.example"));
	ck_assert(!config_cors_allowed(&cfg, "http://evil.example"));
	config_release(&cfg);
	strbuf_release(&errors);
}
END_TEST

START_TEST(config_never_echoes_the_smtp_url)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	setenv("JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
	setenv("EMAIL_BACKEND", "smtp", 1);
	setenv("SMTP_URL", "smtp//mailer:hunter2-secret@mail.example", 1);
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(config_check_serve(&cfg, &errors), -1);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&errors), "SMTP_URL: expected"));
	ck_assert_ptr_null(strstr(strbuf_str(&errors), "hunter2"));
	config_release(&cfg);
	strbuf_release(&errors);
}
END_TEST

START_TEST(config_serve_needs_a_long_secret)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	setenv("JWT_SECRET", "short", 1);
	unsetenv("JWT_ALGORITHM");
	unsetenv("EMAIL_BACKEND");
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(config_check_serve(&cfg, &errors), -1);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&errors), "JWT_SECRET: must be at least 32 bytes"));
	config_release(&cfg);
	strbuf_reset(&errors);
	setenv("JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(config_check_serve(&cfg, &errors), 0);
	config_release(&cfg);
	strbuf_release(&errors);
}
END_TEST

static void nothing(struct http_ctx *ctx)
{
	(void)ctx;
}

static const struct route table[] = {
	{"GET", "/api/projects", nothing, ROUTE_PUBLIC},
	{"POST", "/api/projects", nothing, ROUTE_PUBLIC},
	{"GET", "/api/projects/{id}", nothing, ROUTE_PUBLIC},
	{"DELETE", "/api/projects/{id}/tags/{tag_id}", nothing, ROUTE_PUBLIC},
	{"GET", "/media/{path...}", nothing, ROUTE_PUBLIC},
};

#define UUID1 "e584c845-be56-45e0-bf65-3005c0822c1f"
#define UUID2 "11111111-1111-4111-8111-111111111111"

static enum route_match match(const char *method, const char *path, const struct route **route,
			      char **params, size_t *n, struct strbuf *allow)
{
	struct router *router = router_new();
	router_add(router, table, sizeof(table) / sizeof(table[0]));
	enum route_match m = router_match(router, method, path, route, params, n, allow);
	router_free(router);
	return m;
}

START_TEST(router_matches_with_and_without_trailing_slash)
{
	const struct route *route;
	char *params[HTTP_MAX_PARAMS];
	size_t n;
	struct strbuf allow = STRBUF_INIT;

	ck_assert_int_eq(match("GET", "/api/projects", &route, params, &n, &allow), ROUTE_MATCHED);
	ck_assert_ptr_eq(route, &table[0]);
	ck_assert_str_eq(strbuf_str(&allow), "GET, POST, HEAD, OPTIONS");
	ck_assert_int_eq(match("POST", "/api/projects/", &route, params, &n, &allow),
			 ROUTE_MATCHED);
	ck_assert_ptr_eq(route, &table[1]);
	ck_assert_int_eq(match("HEAD", "/api/projects", &route, params, &n, &allow), ROUTE_MATCHED);
	ck_assert_ptr_eq(route, &table[0]);
	ck_assert_int_eq(match("GET", "/api/projects//", &route, params, &n, &allow),
			 ROUTE_NO_PATH);
	ck_assert_int_eq(match("GET", "/api/projectsx", &route, params, &n, &allow), ROUTE_NO_PATH);
	ck_assert_int_eq(match("GET", "/api", &route, params, &n, &allow), ROUTE_NO_PATH);
	strbuf_release(&allow);
}
END_TEST

START_TEST(router_params_and_405)
{
	const struct route *route;
	char *params[HTTP_MAX_PARAMS];
	size_t n;
	struct strbuf allow = STRBUF_INIT;

	ck_assert_int_eq(match("DELETE", "/api/projects/" UUID1 "/tags/" UUID2 "/", &route, params,
			       &n, &allow),
			 ROUTE_MATCHED);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(params[0], UUID1);
	ck_assert_str_eq(params[1], UUID2);
	free(params[0]);
	free(params[1]);
	/* Not a UUID: no such path, as Django's <uuid:...> converter. */
	ck_assert_int_eq(match("GET", "/api/projects/42", &route, params, &n, &allow),
			 ROUTE_NO_PATH);
	ck_assert_int_eq(match("PUT", "/api/projects/" UUID1, &route, params, &n, &allow),
			 ROUTE_NO_METHOD);
	ck_assert_str_eq(strbuf_str(&allow), "GET, HEAD, OPTIONS");
	ck_assert_int_eq(match("GET", "/media/profiles/a.png", &route, params, &n, &allow),
			 ROUTE_MATCHED);
	ck_assert_str_eq(params[0], "profiles/a.png");
	free(params[0]);
	ck_assert_int_eq(match("GET", "/media/", &route, params, &n, &allow), ROUTE_NO_PATH);
	strbuf_release(&allow);
}
END_TEST

START_TEST(uuid_and_strbuf)
{
	ck_assert(is_uuid(UUID1, 36));
	ck_assert(!is_uuid("e584c845-be56-45e0-bf65-3005c0822c1", 35));
	ck_assert(!is_uuid("e584c845xbe56-45e0-bf65-3005c0822c1f", 36));
	ck_assert(!is_uuid("g584c845-be56-45e0-bf65-3005c0822c1f", 36));

	struct strbuf sb = STRBUF_INIT;
	ck_assert_str_eq(strbuf_str(&sb), "");
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%d,", i);
	ck_assert_int_eq(sb.len, strlen(sb.buf));
	ck_assert(!strncmp(sb.buf, "0,1,2,", 6));
	char *s = strbuf_detach(&sb);
	ck_assert_ptr_null(sb.buf);
	free(s);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, duration_units);
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_reports_every_bad_setting);
	tcase_add_test(tc, config_serve_needs_a_long_secret);
	tcase_add_test(tc, config_never_echoes_the_smtp_url);
	suite_add_tcase(s, tc);
	tc = tcase_create("router");
	tcase_add_test(tc, router_matches_with_and_without_trailing_slash);
	tcase_add_test(tc, router_params_and_405);
	tcase_add_test(tc, uuid_and_strbuf);
	suite_add_tcase(s, tc);
	return s;
}
