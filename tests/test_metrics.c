/*
 * GET /metrics: off is a 404 like any unknown path, METRICS_ALLOW refuses
 * other addresses with a 403, and the Prometheus text parses and moves with
 * the requests, emails and token rotations this process serves. Each test
 * starts the real server in this process with its own settings.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "support.h"

static struct test_server ts;

static void start_with(const char *metrics, const char *allow)
{
	if (metrics)
		setenv("METRICS", metrics, 1);
	else
		unsetenv("METRICS");
	if (allow)
		setenv("METRICS_ALLOW", allow, 1);
	else
		unsetenv("METRICS_ALLOW");
	/* Earlier suites' failed logins from 127.0.0.1 must not throttle these logins. */
	setenv("LOGIN_THROTTLE_IP", "1000000", 1);
	test_server_start(&ts, NULL, 0);
}

/* The body of GET /metrics (new string, free()), after checking status and type. */
static char *scrape(void)
{
	struct test_response resp;
	ck_assert_int_eq(test_call(&ts, "GET", "/metrics", NULL, NULL, &resp, NULL), 200);
	char *type = test_response_header(&resp, "Content-Type");
	ck_assert_ptr_nonnull(type);
	ck_assert_str_eq(type, "text/plain; version=0.0.4; charset=utf-8");
	free(type);
	char *body = xstrdup(strbuf_str(&resp.body));
	test_response_release(&resp);
	return body;
}

/* Every line is "# HELP name text", "# TYPE name kind" or "name{labels} value". */
static void assert_parses(const char *text)
{
	regex_t sample, comment;
	ck_assert_int_eq(regcomp(&sample,
				 "^[a-zA-Z_:][a-zA-Z0-9_:]*"
				 "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
				 "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? "
				 "[-+]?([0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|Inf|NaN)$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	ck_assert_int_eq(
		regcomp(&comment,
			"^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* "
			"(counter|gauge|histogram|summary|untyped))$",
			REG_EXTENDED | REG_NOSUB),
		0);
	ck_assert_msg(*text && text[strlen(text) - 1] == '\n', "must end with a newline");
	char *copy = xstrdup(text), *save = NULL;
	int lines = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		regex_t *re = line[0] == '#' ? &comment : &sample;
		ck_assert_msg(regexec(re, line, 0, NULL, 0) == 0, "bad line: %s", line);
		lines++;
	}
	ck_assert_int_gt(lines, 10);
	free(copy);
	regfree(&sample);
	regfree(&comment);
}

/* The value of the sample whose name and labels are exactly series; -1 if absent. */
static double value_of(const char *text, const char *series)
{
	size_t len = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, len) && p[len] == ' ')
			return strtod(p + len + 1, NULL);
	return -1;
}

static const char HEALTH_200[] =
	"devsearch_http_requests_total{method=\"GET\",route=\"/api/health\",status=\"200\"}";

START_TEST(off_is_404_like_any_unknown_path)
{
	struct test_response resp;
	json_t *j;
	start_with(NULL, NULL);
	ck_assert_int_eq(test_call(&ts, "GET", "/metrics", NULL, NULL, &resp, &j), 404);
	ck_assert_str_eq(json_string_value(json_object_get(j, "code")), "not_found");
	char *allow = test_response_header(&resp, "Allow");
	ck_assert_msg(allow == NULL, "a route that is off must not answer Allow: %s", allow);
	json_decref(j);
	test_response_release(&resp);
	test_server_stop(&ts);
}
END_TEST

START_TEST(address_outside_metrics_allow_is_403)
{
	struct test_response resp;
	json_t *j;
	start_with("on", "10.0.0.0/8, fd00::/8");
	ck_assert_int_eq(test_call(&ts, "GET", "/metrics", NULL, NULL, &resp, &j), 403);
	ck_assert_str_eq(json_string_value(json_object_get(j, "code")), "permission_denied");
	json_decref(j);
	test_response_release(&resp);
	test_server_stop(&ts);
}
END_TEST

START_TEST(format_parses_and_requests_are_counted_by_pattern)
{
	struct test_response resp;
	char path[128];
	start_with("on", NULL);
	char *before = scrape();
	assert_parses(before);
	double health_before = value_of(before, HEALTH_200);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(test_call(&ts, "GET", "/api/health", NULL, NULL, &resp, NULL),
				 200);
		test_response_release(&resp);
	}
	/* Two different ids: one series, the pattern's, never the raw path. */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/api/projects/0000000%d-0000-4000-8000-000000000000",
			 i);
		ck_assert_int_eq(test_call(&ts, "GET", path, NULL, NULL, &resp, NULL), 404);
		test_response_release(&resp);
	}
	ck_assert_int_eq(test_call(&ts, "GET", "/no/such/path", NULL, NULL, &resp, NULL), 404);
	test_response_release(&resp);

	char *after = scrape();
	assert_parses(after);
	ck_assert_double_eq(value_of(after, HEALTH_200),
			    (health_before < 0 ? 0 : health_before) + 3);
	ck_assert_double_eq(
		value_of(after,
			 "devsearch_http_requests_total{method=\"GET\",route=\"/api/projects/"
			 "{id}\",status=\"404\"}"),
		2);
	ck_assert_ptr_null(strstr(after, "00000001-0000"));
	ck_assert_double_ge(value_of(after, "devsearch_http_requests_total{method=\"\",route=\"("
					    "unmatched)\",status=\"404\"}"),
			    1);
	/* The first scrape itself is counted by the second. */
	ck_assert_double_ge(value_of(after, "devsearch_http_requests_total{method=\"GET\",route="
					    "\"/metrics\",status=\"200\"}"),
			    1);
	ck_assert_double_ge(value_of(after, "devsearch_db_pool_size{pool=\"primary\"}"), 1);
	ck_assert_double_eq(value_of(after, "devsearch_db_pool_waiting{pool=\"primary\"}"), 0);
	ck_assert_double_ge(
		value_of(after, "devsearch_db_errors_total{pool=\"primary\",kind=\"unavailable\"}"),
		0);
	/* No replica configured: no replica series. */
	ck_assert_ptr_null(strstr(after, "pool=\"replica\""));
	free(before);
	free(after);
	test_server_stop(&ts);
}
END_TEST

START_TEST(histogram_is_cumulative_and_ends_at_the_count)
{
	static const char PREFIX[] =
		"devsearch_http_request_duration_seconds_bucket{method=\"GET\","
		"route=\"/api/health\",le=\"";
	struct test_response resp;
	start_with("on", NULL);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(test_call(&ts, "GET", "/api/health", NULL, NULL, &resp, NULL),
				 200);
		test_response_release(&resp);
	}
	char *text = scrape();
	double last = 0;
	int buckets = 0;
	for (const char *p = strstr(text, PREFIX); p; p = strstr(p + 1, PREFIX)) {
		const char *value = strstr(p, "} ");
		ck_assert_ptr_nonnull(value);
		double v = strtod(value + 2, NULL);
		ck_assert_msg(v >= last, "bucket %d is smaller than the one before", buckets);
		last = v;
		buckets++;
	}
	ck_assert_int_eq(buckets, 14);
	ck_assert_double_eq(last, 4);
	ck_assert_double_eq(value_of(text, "devsearch_http_request_duration_seconds_bucket{method="
					   "\"GET\",route=\"/api/health\",le=\"+Inf\"}"),
			    4);
	ck_assert_double_eq(value_of(text, "devsearch_http_request_duration_seconds_count{method="
					   "\"GET\",route=\"/api/health\"}"),
			    4);
	ck_assert_double_gt(value_of(text, "devsearch_http_request_duration_seconds_sum{method="
					   "\"GET\",route=\"/api/health\"}"),
			    0);
	free(text);
	test_server_stop(&ts);
}
END_TEST

START_TEST(emails_rotations_and_reuse_are_counted)
{
	struct test_account a;
	char *access, *refresh;
	json_t *j = NULL;
	start_with("on", NULL);
	test_register(&ts, &a, "metrics");
	ck_assert_int_eq(test_login(&ts, a.username, TEST_PASSWORD, &access, &refresh), 200);
	ck_assert_int_eq(test_post(&ts, "/api/users/token/refresh", NULL,
				   json_pack("{s:s}", "refresh", refresh), &j),
			 200);
	json_decref(j);
	/* The rotated token again: reuse, and the login ends. */
	ck_assert_int_eq(test_post(&ts, "/api/users/token/refresh", NULL,
				   json_pack("{s:s}", "refresh", refresh), &j),
			 401);
	json_decref(j);
	char *text = scrape();
	ck_assert_double_eq(value_of(text, "devsearch_emails_queued_total"), 1);
	ck_assert_double_eq(value_of(text, "devsearch_token_rotations_total"), 1);
	ck_assert_double_eq(value_of(text, "devsearch_token_reuse_detections_total"), 1);
	free(text);
	free(access);
	free(refresh);
	test_server_stop(&ts);
}
END_TEST

static struct sockaddr_storage address(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &v6->sin6_addr), 1);
		v6->sin6_family = AF_INET6;
	}
	return ss;
}

static int allowed(const struct config *cfg, const char *text)
{
	struct sockaddr_storage ss = address(text);
	return config_metrics_allowed(cfg, (const struct sockaddr *)&ss);
}

/* With a replica pool (here a second pool on the test database), both pools are shown. */
START_TEST(replica_pool_has_its_own_series)
{
	setenv("DATABASE_REPLICA_URL", test_env("DATABASE_URL"), 1);
	start_with("on", NULL);
	ck_assert_ptr_nonnull(ts.app.replica);
	char *text = scrape();
	ck_assert_double_ge(value_of(text, "devsearch_db_pool_size{pool=\"replica\"}"), 1);
	ck_assert_double_ge(value_of(text, "devsearch_db_pool_size{pool=\"primary\"}"), 1);
	ck_assert_double_ge(value_of(text, "devsearch_db_pool_connections{pool=\"replica\","
					   "state=\"idle\"}"),
			    0);
	/* One HELP line per family, whatever the number of pools. */
	const char *help = strstr(text, "# HELP devsearch_db_pool_size ");
	ck_assert_ptr_nonnull(help);
	ck_assert_ptr_null(strstr(help + 1, "# HELP devsearch_db_pool_size "));
	free(text);
	test_server_stop(&ts);
	unsetenv("DATABASE_REPLICA_URL");
}
END_TEST

START_TEST(metrics_allow_matches_addresses_and_networks)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;

	unsetenv("METRICS_ALLOW");
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(cfg.metrics, 0);
	ck_assert(allowed(&cfg, "127.0.0.1"));
	ck_assert(allowed(&cfg, "::1"));
	ck_assert(allowed(&cfg, "::ffff:127.0.0.1"));
	ck_assert(!allowed(&cfg, "127.0.0.2"));
	ck_assert(!config_metrics_allowed(&cfg, NULL));
	config_release(&cfg);

	setenv("METRICS_ALLOW", "10.0.0.0/8,192.168.1.0/25, 2001:db8::/32", 1);
	setenv("METRICS", "on", 1);
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(cfg.metrics, 1);
	ck_assert(allowed(&cfg, "10.200.3.4"));
	ck_assert(allowed(&cfg, "192.168.1.127"));
	ck_assert(!allowed(&cfg, "192.168.1.128"));
	ck_assert(!allowed(&cfg, "11.0.0.1"));
	ck_assert(!allowed(&cfg, "127.0.0.1"));
	ck_assert(allowed(&cfg, "2001:db8:ffff::1"));
	ck_assert(!allowed(&cfg, "2001:db9::1"));
	config_release(&cfg);

	setenv("METRICS_ALLOW", "10.0.0.0/33,localhost", 1);
	setenv("METRICS", "yes", 1);
	ck_assert_int_eq(config_load(&cfg, &errors), -1);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&errors), "METRICS_ALLOW: \"10.0.0.0/33\""));
	ck_assert_ptr_nonnull(strstr(strbuf_str(&errors), "METRICS_ALLOW: \"localhost\""));
	ck_assert_ptr_nonnull(strstr(strbuf_str(&errors), "METRICS: expected on or off"));
	config_release(&cfg);
	strbuf_release(&errors);
	unsetenv("METRICS_ALLOW");
	unsetenv("METRICS");
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, metrics_allow_matches_addresses_and_networks);
	tcase_add_test(tc, off_is_404_like_any_unknown_path);
	tcase_add_test(tc, address_outside_metrics_allow_is_403);
	tcase_add_test(tc, format_parses_and_requests_are_counted_by_pattern);
	tcase_add_test(tc, histogram_is_cumulative_and_ends_at_the_count);
	tcase_add_test(tc, emails_rotations_and_reuse_are_counted);
	tcase_add_test(tc, replica_pool_has_its_own_series);
	suite_add_tcase(s, tc);
	return s;
}
