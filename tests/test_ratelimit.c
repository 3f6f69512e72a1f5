/*
 * Rate limits and the client address: the settings, X-Forwarded-For behind
 * TRUSTED_PROXIES, the limiter's table (counting, windows, the bound on keys)
 * and its sharing through PostgreSQL, then the real server: 429 with
 * Retry-After, the RateLimit-* headers, per-user and per-address counting,
 * /api/health, two servers sharing one limit, and a database that is down.
 *
 * Every server test counts under client addresses of its own (2001:db8::/32,
 * sent in X-Forwarded-For from the trusted 127.0.0.1) or fresh users, so the
 * counts the shared test database keeps never mix between tests or runs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/client_addr.h"
#include "core/ratelimit.h"
#include "models/db.h"
#include "support.h"

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* A client address no other test or run uses. */
static void unique_addr(char out[64])
{
	static int n;
	snprintf(out, 64, "2001:db8::%x:%x:%x", (unsigned)getpid() & 0xffff,
		 (unsigned)time(NULL) & 0xffff, ++n);
}

/*
 * Windows are fixed and start at multiples of their length: make sure at
 * least need seconds of the current one are left, so a test's requests all
 * fall in one window.
 */
static void fresh_window(long period, long need)
{
	long now = (long)time(NULL);
	if (period - now % period < need)
		sleep((unsigned)(period - now % period) + 1);
}

/* ---- settings ---- */

START_TEST(rate_setting_formats)
{
	struct config_rate r;
	ck_assert_int_eq(config_parse_rate("100/minute", &r), 0);
	ck_assert_int_eq(r.limit, 100);
	ck_assert_int_eq(r.period, 60);
	ck_assert_int_eq(config_parse_rate("5/s", &r), 0);
	ck_assert_int_eq(r.period, 1);
	ck_assert_int_eq(config_parse_rate("7/hour", &r), 0);
	ck_assert_int_eq(r.period, 3600);
	ck_assert_int_eq(config_parse_rate("1/day", &r), 0);
	ck_assert_int_eq(r.period, 86400);
	ck_assert_int_eq(config_parse_rate("off", &r), 0);
	ck_assert_int_eq(r.limit, 0);
	ck_assert_int_eq(config_parse_rate("10/fortnight", &r), -1);
	ck_assert_int_eq(config_parse_rate("10/month", &r), -1);
	ck_assert_int_eq(config_parse_rate("0/second", &r), -1);
	ck_assert_int_eq(config_parse_rate("-1/second", &r), -1);
	ck_assert_int_eq(config_parse_rate("/second", &r), -1);
	ck_assert_int_eq(config_parse_rate("10", &r), -1);
	ck_assert_int_eq(config_parse_rate("1e3/second", &r), -1);
}
END_TEST

START_TEST(settings_default_off_and_report_errors)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	unsetenv("RATE_LIMIT_ANON");
	unsetenv("RATE_LIMIT_USER");
	unsetenv("TRUSTED_PROXIES");
	unsetenv("USE_X_FORWARDED_HOST");
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(cfg.use_x_forwarded_host, 0);
	ck_assert_int_eq(cfg.rate_anon.limit, 0);
	ck_assert_int_eq(cfg.rate_user.limit, 0);
	ck_assert_int_eq(cfg.rate_limit_sync_ms, 1000);
	ck_assert_uint_eq(cfg.n_trusted_proxies, 0);
	config_release(&cfg);

	setenv("RATE_LIMIT_ANON", "10/fortnight", 1);
	setenv("RATE_LIMIT_USER", "lots", 1);
	setenv("RATE_LIMIT_SYNC_MS", "0", 1);
	setenv("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal, ::1/129", 1);
	setenv("USE_X_FORWARDED_HOST", "yes", 1);
	ck_assert_int_eq(config_load(&cfg, &errors), -1);
	const char *text = strbuf_str(&errors);
	ck_assert_ptr_nonnull(strstr(text, "RATE_LIMIT_ANON: expected off or a rate"));
	ck_assert_ptr_nonnull(strstr(text, "\"10/fortnight\""));
	ck_assert_ptr_nonnull(strstr(text, "RATE_LIMIT_USER: expected off or a rate"));
	ck_assert_ptr_nonnull(strstr(text, "RATE_LIMIT_SYNC_MS: expected a whole number"));
	ck_assert_ptr_nonnull(strstr(text, "TRUSTED_PROXIES: \"proxy.internal\""));
	ck_assert_ptr_nonnull(strstr(text, "TRUSTED_PROXIES: \"::1/129\""));
	ck_assert_ptr_null(strstr(text, "\"10.0.0.0/8\""));
	ck_assert_ptr_nonnull(
		strstr(text, "USE_X_FORWARDED_HOST: expected on or off, got \"yes\""));
	config_release(&cfg);
	strbuf_release(&errors);
}
END_TEST

/* ---- the client address ---- */

/* client_addr_resolve() with TRUSTED_PROXIES=trusted and a peer of peer_text (IPv4). */
static void resolve(const char *trusted, const char *peer_text, const char *forwarded,
		    char out[CLIENT_ADDR_SIZE])
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	struct sockaddr_in peer = {.sin_family = AF_INET};

	if (trusted)
		setenv("TRUSTED_PROXIES", trusted, 1);
	else
		unsetenv("TRUSTED_PROXIES");
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert_int_eq(inet_pton(AF_INET, peer_text, &peer.sin_addr), 1);
	client_addr_resolve(&cfg, (const struct sockaddr *)&peer, forwarded, out);
	config_release(&cfg);
	strbuf_release(&errors);
}

START_TEST(forwarded_for_is_read_only_from_trusted_proxies)
{
	char out[CLIENT_ADDR_SIZE];

	/* No proxy trusted (the default), or not this one: the header is the client's word. */
	resolve(NULL, "127.0.0.1", "203.0.113.7", out);
	ck_assert_str_eq(out, "127.0.0.1");
	resolve("10.0.0.0/8", "127.0.0.1", "203.0.113.7", out);
	ck_assert_str_eq(out, "127.0.0.1");
	/* A trusted peer without the header is the client itself. */
	resolve("127.0.0.1", "127.0.0.1", NULL, out);
	ck_assert_str_eq(out, "127.0.0.1");
	/* Right-most first: what the client wrote itself (on the left) is never taken. */
	resolve("127.0.0.1", "127.0.0.1", "1.1.1.1, 203.0.113.7", out);
	ck_assert_str_eq(out, "203.0.113.7");
	/* Several trusted hops are walked through. */
	resolve("127.0.0.1, 10.0.0.0/8", "127.0.0.1", "1.1.1.1,203.0.113.7 , 10.1.2.3,10.9.9.9",
		out);
	ck_assert_str_eq(out, "203.0.113.7");
	/* Every hop trusted: the furthest one. */
	resolve("127.0.0.1, 10.0.0.0/8", "127.0.0.1", "10.1.2.3, 10.9.9.9", out);
	ck_assert_str_eq(out, "10.1.2.3");
	/* Garbage ends the walk at the last trusted hop, whatever is left of it. */
	resolve("127.0.0.1, 10.0.0.0/8", "127.0.0.1", "1.1.1.1, evil\r\nX: y, 10.9.9.9", out);
	ck_assert_str_eq(out, "10.9.9.9");
	resolve("127.0.0.1", "127.0.0.1", "unknown", out);
	ck_assert_str_eq(out, "127.0.0.1");
	resolve("127.0.0.1", "127.0.0.1", ",,,", out);
	ck_assert_str_eq(out, "127.0.0.1");
	resolve("127.0.0.1", "127.0.0.1", "", out);
	ck_assert_str_eq(out, "127.0.0.1");
	/* IPv6, bracketed with a port, IPv4 with a port, IPv4-mapped. */
	resolve("127.0.0.1", "127.0.0.1", "2001:DB8::1", out);
	ck_assert_str_eq(out, "2001:db8::1");
	resolve("127.0.0.1", "127.0.0.1", "[2001:db8::2]:4711", out);
	ck_assert_str_eq(out, "2001:db8::2");
	resolve("127.0.0.1", "127.0.0.1", "203.0.113.9:4711", out);
	ck_assert_str_eq(out, "203.0.113.9");
	resolve("127.0.0.1, ::ffff:10.0.0.0/104", "127.0.0.1", "203.0.113.1, ::ffff:10.0.0.1", out);
	ck_assert_str_eq(out, "203.0.113.1");
	/* Longer than any address: refused, not cut. */
	resolve("127.0.0.1", "127.0.0.1",
		"2001:0db8:0000:0000:0000:0000:0000:0001:2001:0db8:0000:0000:0000", out);
	ck_assert_str_eq(out, "127.0.0.1");
}
END_TEST

START_TEST(forwarded_proto_and_host_entries)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	struct sockaddr_in peer = {.sin_family = AF_INET};

	/* The peer test is client_addr_resolve()'s: the same list decides both. */
	setenv("TRUSTED_PROXIES", "10.0.0.0/8", 1);
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	ck_assert(!client_addr_peer_trusted(&cfg, NULL));
	ck_assert_int_eq(inet_pton(AF_INET, "10.1.2.3", &peer.sin_addr), 1);
	ck_assert(client_addr_peer_trusted(&cfg, (const struct sockaddr *)&peer));
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &peer.sin_addr), 1);
	ck_assert(!client_addr_peer_trusted(&cfg, (const struct sockaddr *)&peer));
	config_release(&cfg);
	strbuf_release(&errors);

	ck_assert_ptr_null(client_addr_forwarded_proto(NULL));
	ck_assert_str_eq(client_addr_forwarded_proto("https"), "https");
	ck_assert_str_eq(client_addr_forwarded_proto(" HTTPS\t, http"), "https");
	ck_assert_str_eq(client_addr_forwarded_proto("Http"), "http");
	ck_assert_ptr_null(client_addr_forwarded_proto(""));
	ck_assert_ptr_null(client_addr_forwarded_proto(", https"));
	ck_assert_ptr_null(client_addr_forwarded_proto("https2"));
	ck_assert_ptr_null(client_addr_forwarded_proto("ws"));
	ck_assert_ptr_null(client_addr_forwarded_proto("htt"));

	ck_assert_ptr_null(client_addr_forwarded_host(NULL));
	char *host = client_addr_forwarded_host(" api.example.org:8443 , inner");
	ck_assert_str_eq(host, "api.example.org:8443");
	free(host);
	host = client_addr_forwarded_host(", api.example.org");
	ck_assert_str_eq(host, "");
	free(host);
}
END_TEST

/* ---- the limiter's table ---- */

static const struct config_rate OFF = {0, 1};

START_TEST(limiter_counts_a_fixed_window)
{
	struct config_rate anon = {3, 60};
	struct rate_limiter *l = rate_limiter_new(&anon, &OFF, 100);
	struct rate_decision d;
	long t = 1800000000; /* a multiple of 60 */

	ck_assert_ptr_null(rate_limiter_new(&OFF, &OFF, 100));
	ck_assert_int_eq(rate_limiter_hit(l, RATE_USER, "someone", t, &d), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(rate_limiter_hit(l, RATE_ANON, "a", t + 10, &d), 1);
		ck_assert_int_eq(d.allowed, 1);
		ck_assert_int_eq(d.limit, 3);
		ck_assert_int_eq(d.remaining, 2 - i);
		ck_assert_int_eq(d.reset, 50);
	}
	ck_assert_int_eq(rate_limiter_hit(l, RATE_ANON, "a", t + 59, &d), 1);
	ck_assert_int_eq(d.allowed, 0);
	ck_assert_int_eq(d.remaining, 0);
	ck_assert_int_eq(d.reset, 1);
	/* Another key has its own count; the next window starts from zero. */
	ck_assert_int_eq(rate_limiter_hit(l, RATE_ANON, "b", t + 59, &d), 1);
	ck_assert_int_eq(d.allowed, 1);
	ck_assert_int_eq(rate_limiter_hit(l, RATE_ANON, "a", t + 60, &d), 1);
	ck_assert_int_eq(d.allowed, 1);
	ck_assert_int_eq(d.remaining, 2);
	ck_assert_int_eq(d.reset, 60);
	rate_limiter_free(l);
}
END_TEST

START_TEST(limiter_holds_at_most_max_keys_evicting_the_oldest_window)
{
	struct config_rate anon = {5, 60}, user = {5, 3600};
	struct rate_limiter *l = rate_limiter_new(&anon, &user, 3);
	struct rate_decision d;
	long t = 1800000000;

	rate_limiter_hit(l, RATE_ANON, "a", t, &d);
	rate_limiter_hit(l, RATE_ANON, "a", t, &d);
	rate_limiter_hit(l, RATE_USER, "a", t + 1, &d); /* same key, other scope: its own */
	rate_limiter_hit(l, RATE_ANON, "b", t + 2, &d);
	rate_limiter_hit(l, RATE_ANON, "b", t + 2, &d);
	ck_assert_uint_eq(rate_limiter_key_count(l), 3);
	/* A fourth key: anon "a", whose window began first, goes. */
	rate_limiter_hit(l, RATE_ANON, "c", t + 3, &d);
	ck_assert_uint_eq(rate_limiter_key_count(l), 3);
	rate_limiter_hit(l, RATE_ANON, "b", t + 3, &d);
	ck_assert_int_eq(d.remaining, 2); /* kept: third hit */
	rate_limiter_hit(l, RATE_ANON, "a", t + 3, &d);
	ck_assert_int_eq(d.remaining, 4); /* evicted: starts again */
	ck_assert_uint_eq(rate_limiter_key_count(l), 3);
	/* user "a" was the oldest after that and went for anon "a". */
	rate_limiter_hit(l, RATE_USER, "a", t + 3, &d);
	ck_assert_int_eq(d.remaining, 4);
	/* Many more keys: the count never passes the cap. */
	for (int i = 0; i < 1000; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		rate_limiter_hit(l, RATE_ANON, key, t + 4, &d);
		ck_assert_uint_le(rate_limiter_key_count(l), 3);
	}
	rate_limiter_free(l);
}
END_TEST

static struct db_pool *open_pool(void)
{
	struct db_pool *pool = NULL;
	ck_assert_int_eq(db_pool_open(test_env("DATABASE_URL"), 2, 5000, 0, &pool), APP_OK);
	return pool;
}

START_TEST(limiters_share_counts_through_the_database)
{
	struct config_rate anon = {10, 3600};
	struct rate_limiter *a = rate_limiter_new(&anon, &OFF, 100);
	struct rate_limiter *b = rate_limiter_new(&anon, &OFF, 100);
	struct db_pool *pool = open_pool();
	struct rate_decision d;
	char key[64];
	long t = (long)time(NULL);

	unique_addr(key);
	for (int i = 0; i < 4; i++)
		rate_limiter_hit(a, RATE_ANON, key, t, &d);
	rate_limiter_hit(b, RATE_ANON, key, t, &d);
	ck_assert_int_eq(d.remaining, 9); /* b has not heard of a's hits yet */
	ck_assert_int_eq(rate_limiter_sync(a, pool, t), APP_OK);
	ck_assert_int_eq(rate_limiter_sync(b, pool, t), APP_OK);
	/* b now knows all 5 hits; a learns of b's 6th only once b has sent it. */
	rate_limiter_hit(b, RATE_ANON, key, t, &d);
	ck_assert_int_eq(d.remaining, 4);
	rate_limiter_hit(a, RATE_ANON, key, t, &d);
	ck_assert_int_eq(d.remaining, 5);
	ck_assert_int_eq(rate_limiter_sync(a, pool, t), APP_OK); /* the table: 6 */
	rate_limiter_hit(a, RATE_ANON, key, t, &d);
	ck_assert_int_eq(d.remaining, 3);
	/* Only what is allowed is counted, each hit once. */
	int allowed = 0;
	for (int i = 0; i < 20; i++) {
		rate_limiter_hit(a, RATE_ANON, key, t, &d);
		allowed += d.allowed;
	}
	ck_assert_int_eq(allowed, 3);
	ck_assert_int_eq(rate_limiter_sync(a, pool, t), APP_OK);
	ck_assert_int_eq(rate_limiter_sync(b, pool, t), APP_OK);
	/* 11: one over, b's hit that a could not know of yet (the documented bound). */
	char *total = test_sql("SELECT hits::text FROM rate_limit_counts WHERE scope = 'anon' AND "
			       "key = $1",
			       key, NULL);
	ck_assert_str_eq(total, "11");
	free(total);
	rate_limiter_hit(b, RATE_ANON, key, t, &d);
	ck_assert_int_eq(d.allowed, 0);
	/* Ended windows are deleted by a later visit. */
	ck_assert_int_eq(rate_limiter_sync(a, pool, t - t % 3600 + 3600 + 61), APP_OK);
	ck_assert_uint_eq(rate_limiter_key_count(a), 0);
	total = test_sql("SELECT count(*)::text FROM rate_limit_counts WHERE key = $1", key, NULL);
	ck_assert_str_eq(total, "0");
	free(total);
	rate_limiter_free(a);
	rate_limiter_free(b);
	db_pool_free(pool);
}
END_TEST

/* ---- the server ---- */

static struct test_server ts;

/* The settings of the server tests: these limits, 127.0.0.1 trusted, syncing every 50 ms. */
static void limits_env(const char *anon, const char *user)
{
	if (anon)
		setenv("RATE_LIMIT_ANON", anon, 1);
	else
		unsetenv("RATE_LIMIT_ANON");
	if (user)
		setenv("RATE_LIMIT_USER", user, 1);
	else
		unsetenv("RATE_LIMIT_USER");
	setenv("RATE_LIMIT_SYNC_MS", "50", 1);
	setenv("TRUSTED_PROXIES", "127.0.0.1", 1);
	setenv("CORS_ALLOWED_ORIGINS", "http://localhost:5173", 1);
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
}

static void start_limited(struct test_server *server, const char *anon, const char *user)
{
	limits_env(anon, user);
	test_server_start(server, NULL, 0);
}

/* GET path on server from addr (X-Forwarded-For; NULL: none) with extra (may be NULL). */
static long get_from(struct test_server *server, const char *path, const char *addr,
		     const char *extra, struct test_response *resp, json_t **j)
{
	char forwarded[128];
	const char *headers[3] = {NULL, NULL, NULL};
	size_t n = 0;
	if (addr) {
		snprintf(forwarded, sizeof(forwarded), "X-Forwarded-For: %s", addr);
		headers[n++] = forwarded;
	}
	if (extra)
		headers[n++] = extra;
	return test_call(server, "GET", path, headers, NULL, resp, j);
}

static long header_long(const struct test_response *resp, const char *name)
{
	char *value = test_response_header(resp, name);
	ck_assert_msg(value != NULL, "no %s header", name);
	long v = strtol(value, NULL, 10);
	free(value);
	return v;
}

static void assert_no_header(const struct test_response *resp, const char *name)
{
	char *value = test_response_header(resp, name);
	ck_assert_msg(value == NULL, "unexpected %s: %s", name, value);
}

START_TEST(over_the_limit_is_429_with_retry_after_and_headers)
{
	struct test_response resp;
	char addr[64];
	json_t *j;

	fresh_window(3600, 20);
	start_limited(&ts, "3/hour", NULL);
	unique_addr(addr);
	for (long i = 0; i < 3; i++) {
		ck_assert_int_eq(get_from(&ts, "/api/tags", addr, NULL, &resp, NULL), 200);
		ck_assert_int_eq(header_long(&resp, "RateLimit-Limit"), 3);
		ck_assert_int_eq(header_long(&resp, "RateLimit-Remaining"), 2 - i);
		long reset = header_long(&resp, "RateLimit-Reset");
		ck_assert_int_ge(reset, 1);
		ck_assert_int_le(reset, 3600);
		test_response_release(&resp);
	}
	ck_assert_int_eq(
		get_from(&ts, "/api/projects", addr, "Origin: http://localhost:5173", &resp, &j),
		429);
	long retry = header_long(&resp, "Retry-After");
	ck_assert_int_eq(retry, header_long(&resp, "RateLimit-Reset"));
	ck_assert_int_ge(retry, 1);
	ck_assert_int_eq(header_long(&resp, "RateLimit-Remaining"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "code")), "throttled");
	char detail[96];
	snprintf(detail, sizeof(detail),
		 "Request was throttled. Expected available in %ld second%s.", retry,
		 retry == 1 ? "" : "s");
	ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), detail);
	ck_assert_uint_eq(json_object_size(j), 2);
	/* A browser's script may read them. */
	char *exposed = test_response_header(&resp, "Access-Control-Expose-Headers");
	ck_assert_ptr_nonnull(exposed);
	ck_assert_ptr_nonnull(strstr(exposed, "RateLimit-Remaining"));
	ck_assert_ptr_nonnull(strstr(exposed, "Retry-After"));
	free(exposed);
	json_decref(j);
	test_response_release(&resp);
	/* Unknown paths under /api count too, and are refused the same way. */
	ck_assert_int_eq(get_from(&ts, "/api/no-such-thing", addr, NULL, &resp, NULL), 429);
	test_response_release(&resp);
	test_server_stop(&ts);
}
END_TEST

START_TEST(health_metrics_and_media_are_never_limited)
{
	struct test_response resp;
	char addr[64];

	fresh_window(3600, 20);
	setenv("METRICS", "on", 1);
	start_limited(&ts, "1/hour", NULL);
	unique_addr(addr);
	ck_assert_int_eq(get_from(&ts, "/api", addr, NULL, &resp, NULL), 200);
	test_response_release(&resp);
	ck_assert_int_eq(get_from(&ts, "/api", addr, NULL, &resp, NULL), 429);
	test_response_release(&resp);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(get_from(&ts, "/api/health", addr, NULL, &resp, NULL), 200);
		assert_no_header(&resp, "RateLimit-Limit");
		test_response_release(&resp);
		ck_assert_int_eq(get_from(&ts, "/api/health/", addr, NULL, &resp, NULL), 200);
		test_response_release(&resp);
		ck_assert_int_eq(get_from(&ts, "/metrics", addr, NULL, &resp, NULL), 200);
		assert_no_header(&resp, "RateLimit-Limit");
		test_response_release(&resp);
		ck_assert_int_eq(get_from(&ts, "/media/none.png", addr, NULL, &resp, NULL), 404);
		assert_no_header(&resp, "RateLimit-Limit");
		test_response_release(&resp);
	}
	test_server_stop(&ts);
}
END_TEST

START_TEST(limits_off_send_no_headers)
{
	struct test_response resp;
	start_limited(&ts, NULL, NULL);
	ck_assert_ptr_null(ts.app.limiter);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(get_from(&ts, "/api/tags", NULL, NULL, &resp, NULL), 200);
		assert_no_header(&resp, "RateLimit-Limit");
		assert_no_header(&resp, "RateLimit-Remaining");
		assert_no_header(&resp, "RateLimit-Reset");
		test_response_release(&resp);
	}
	test_server_stop(&ts);
}
END_TEST

START_TEST(spoofed_forwarded_for_from_an_untrusted_peer_is_ignored)
{
	struct test_response resp;
	char addr[64], other[64];

	fresh_window(3600, 20);
	unique_addr(addr);
	unique_addr(other);
	/* Trusted: each forwarded address has its own count. */
	start_limited(&ts, "1000/hour", NULL);
	ck_assert_int_eq(get_from(&ts, "/api", addr, NULL, &resp, NULL), 200);
	ck_assert_int_eq(header_long(&resp, "RateLimit-Remaining"), 999);
	test_response_release(&resp);
	ck_assert_int_eq(get_from(&ts, "/api", other, NULL, &resp, NULL), 200);
	ck_assert_int_eq(header_long(&resp, "RateLimit-Remaining"), 999);
	test_response_release(&resp);
	test_server_stop(&ts);

	/* Not trusted (127.0.0.1 is not listed): both are the peer's requests, one count. */
	limits_env("1000/hour", NULL);
	setenv("TRUSTED_PROXIES", "10.0.0.0/8", 1);
	test_server_start(&ts, NULL, 0);
	unique_addr(addr);
	unique_addr(other);
	ck_assert_int_eq(get_from(&ts, "/api", addr, NULL, &resp, NULL), 200);
	long first = header_long(&resp, "RateLimit-Remaining");
	test_response_release(&resp);
	ck_assert_int_eq(get_from(&ts, "/api", other, NULL, &resp, NULL), 200);
	ck_assert_int_eq(header_long(&resp, "RateLimit-Remaining"), first - 1);
	test_response_release(&resp);
	test_server_stop(&ts);
}
END_TEST

/* Register a user on a server without limits (its requests count for no one); tokens outlive it. */
static void two_users(struct test_account *a, struct test_account *b, char **access_a,
		      char **access_b)
{
	char *refresh = NULL;
	start_limited(&ts, NULL, NULL);
	test_register(&ts, a, "rla");
	test_register(&ts, b, "rlb");
	ck_assert_int_eq(test_login(&ts, a->username, TEST_PASSWORD, access_a, &refresh), 200);
	free(refresh);
	ck_assert_int_eq(test_login(&ts, b->username, TEST_PASSWORD, access_b, &refresh), 200);
	free(refresh);
	test_server_stop(&ts);
}

/* GET /api/users/me as the token's user from addr; the status. */
static long me(const char *access, const char *addr, long *remaining)
{
	struct test_response resp;
	char auth[2048];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access);
	long status = get_from(&ts, "/api/users/me", addr, auth, &resp, NULL);
	*remaining = header_long(&resp, "RateLimit-Remaining");
	ck_assert_int_eq(header_long(&resp, "RateLimit-Limit"), 3);
	test_response_release(&resp);
	return status;
}

START_TEST(users_are_counted_apart_from_their_address)
{
	struct test_account a, b;
	struct test_response resp;
	char *access_a = NULL, *access_b = NULL, addr[64];
	long remaining;

	two_users(&a, &b, &access_a, &access_b);
	fresh_window(3600, 20);
	start_limited(&ts, "2/hour", "3/hour");
	unique_addr(addr);
	for (long i = 0; i < 3; i++) {
		ck_assert_int_eq(me(access_a, addr, &remaining), 200);
		ck_assert_int_eq(remaining, 2 - i);
	}
	ck_assert_int_eq(me(access_a, addr, &remaining), 429);
	/* Same address, another user: a count of its own. */
	for (long i = 0; i < 3; i++) {
		ck_assert_int_eq(me(access_b, addr, &remaining), 200);
		ck_assert_int_eq(remaining, 2 - i);
	}
	ck_assert_int_eq(me(access_b, addr, &remaining), 429);
	/* Same address, no token: the address's own (anonymous) count, untouched so far. */
	ck_assert_int_eq(get_from(&ts, "/api/tags", addr, NULL, &resp, NULL), 200);
	ck_assert_int_eq(header_long(&resp, "RateLimit-Limit"), 2);
	ck_assert_int_eq(header_long(&resp, "RateLimit-Remaining"), 1);
	test_response_release(&resp);
	/* A bad token counts for the address, and still gets its 401. */
	ck_assert_int_eq(
		get_from(&ts, "/api/users/me", addr, "Authorization: Bearer nonsense", &resp, NULL),
		401);
	ck_assert_int_eq(header_long(&resp, "RateLimit-Remaining"), 0);
	test_response_release(&resp);
	/* A user's limit follows the user to another address. */
	unique_addr(addr);
	ck_assert_int_eq(me(access_a, addr, &remaining), 429);
	free(access_a);
	free(access_b);
	test_server_stop(&ts);
}
END_TEST

static struct test_server second;

START_TEST(two_servers_share_one_limit)
{
	enum { LIMIT = 20, SENT = 60, SPACING_MS = 20, SYNC_MS = 50 };
	struct test_response resp;
	char addr[64], total[24];
	int allowed = 0;

	fresh_window(3600, 30);
	start_limited(&ts, "20/hour", NULL);
	start_limited(&second, "20/hour", NULL);

	/* In turns: what one server counted is known to the other after a visit of both. */
	unique_addr(addr);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(get_from(&ts, "/api", addr, NULL, &resp, NULL), 200);
		test_response_release(&resp);
	}
	sleep_ms(10 * SYNC_MS);
	ck_assert_int_eq(get_from(&second, "/api", addr, NULL, &resp, NULL), 200);
	test_response_release(&resp);
	sleep_ms(10 * SYNC_MS);
	ck_assert_int_eq(get_from(&second, "/api", addr, NULL, &resp, NULL), 200);
	ck_assert_int_eq(header_long(&resp, "RateLimit-Remaining"), LIMIT - 10);
	test_response_release(&resp);

	/* Interleaved: the total let through stays within the documented bound. */
	unique_addr(addr);
	for (int i = 0; i < SENT; i++) {
		long status = get_from(i % 2 ? &second : &ts, "/api", addr, NULL, &resp, NULL);
		ck_assert_msg(status == 200 || status == 429, "status %ld", status);
		allowed += status == 200;
		test_response_release(&resp);
		sleep_ms(SPACING_MS);
	}
	/*
	 * docs/deploy.md: over the limit by at most what the other server lets
	 * through in two sync intervals: one request per 2 x SPACING_MS each, so
	 * 3 here; twice that and more for a loaded machine delaying the threads.
	 */
	ck_assert_int_ge(allowed, LIMIT);
	ck_assert_int_le(allowed, LIMIT + 8);
	/* And every request let through is in the shared count, once. */
	sleep_ms(10 * SYNC_MS);
	char *hits =
		test_sql("SELECT hits::text FROM rate_limit_counts WHERE key = $1", addr, NULL);
	snprintf(total, sizeof(total), "%d", allowed);
	ck_assert_str_eq(hits, total);
	free(hits);
	test_server_stop(&second);
	test_server_stop(&ts);
}
END_TEST

START_TEST(database_down_still_serves_and_limits_locally)
{
	struct test_response resp;
	char addr[64];
	long status[6], remaining[6];

	fresh_window(3600, 30);
	start_limited(&ts, "4/hour", NULL);
	unique_addr(addr);
	ck_assert_int_eq(get_from(&ts, "/api", addr, NULL, &resp, NULL), 200);
	test_response_release(&resp);
	sleep_ms(500);
	ck_assert_int_eq(test_pg_stop(), 0);
	/* Collect first, assert after PostgreSQL is back, so a failure leaves it running. */
	for (int i = 0; i < 6; i++) {
		status[i] = get_from(&ts, "/api", addr, NULL, &resp, NULL);
		char *value = test_response_header(&resp, "RateLimit-Remaining");
		remaining[i] = value ? strtol(value, NULL, 10) : -1;
		free(value);
		test_response_release(&resp);
		sleep_ms(100); /* visits fail meanwhile */
	}
	ck_assert_int_eq(test_pg_start(), 0);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(status[i], i < 3 ? 200 : 429);
		ck_assert_int_eq(remaining[i], i < 3 ? 2 - i : 0);
	}
	/* Back: the hits counted while it was down reach the table. */
	char url[128];
	snprintf(url, sizeof(url), "%s/api/health", ts.base);
	ck_assert_int_eq(test_wait_http_ok(url, 10000), 0);
	char *hits = NULL;
	for (int i = 0; i < 100 && !(hits && !strcmp(hits, "4")); i++) {
		free(hits);
		sleep_ms(100);
		hits = test_sql("SELECT hits::text FROM rate_limit_counts WHERE key = $1", addr,
				NULL);
	}
	ck_assert_ptr_nonnull(hits);
	ck_assert_str_eq(hits, "4");
	free(hits);
	test_server_stop(&ts);
}
END_TEST

Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("settings");
	tcase_add_test(tc, rate_setting_formats);
	tcase_add_test(tc, settings_default_off_and_report_errors);
	tcase_add_test(tc, forwarded_for_is_read_only_from_trusted_proxies);
	tcase_add_test(tc, forwarded_proto_and_host_entries);
	suite_add_tcase(s, tc);

	tc = tcase_create("limiter");
	tcase_add_test(tc, limiter_counts_a_fixed_window);
	tcase_add_test(tc, limiter_holds_at_most_max_keys_evicting_the_oldest_window);
	tcase_add_test(tc, limiters_share_counts_through_the_database);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, over_the_limit_is_429_with_retry_after_and_headers);
	tcase_add_test(tc, health_metrics_and_media_are_never_limited);
	tcase_add_test(tc, limits_off_send_no_headers);
	tcase_add_test(tc, spoofed_forwarded_for_from_an_untrusted_peer_is_ignored);
	tcase_add_test(tc, users_are_counted_apart_from_their_address);
	tcase_add_test(tc, two_servers_share_one_limit);
	tcase_add_test(tc, database_down_still_serves_and_limits_locally);
	suite_add_tcase(s, tc);
	return s;
}
