/*
 * gzip answers, HEAD and OPTIONS, against the real server and database:
 * Accept-Encoding parsing, a page of 20 projects compressed and inflated back
 * byte for byte, the answers that must stay plain, the response cache keeping
 * the gzip form (compressed once), ETag and 304 with either form, and HEAD
 * and OPTIONS on every route of the route table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "api/compress.h"
#include "core/response_cache.h"
#include "support.h"

static const char *const GZIP[] = {"Accept-Encoding: gzip", NULL};

/* A server with COMPRESS_MIN_BYTES = min_bytes (NULL: the default) and the default cache. */
static void server_start(struct test_server *ts, const char *min_bytes)
{
	if (min_bytes)
		setenv("COMPRESS_MIN_BYTES", min_bytes, 1);
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
	test_server_start(ts, NULL, 0);
	unsetenv("COMPRESS_MIN_BYTES");
}

static long get(struct test_server *ts, const char *method, const char *path,
		const char *const *headers, struct test_response *resp)
{
	return test_call(ts, method, path, headers, NULL, resp, NULL);
}

/* The header's value, or "" when absent (static storage: use at once). */
static const char *header(const struct test_response *resp, const char *name)
{
	static char value[512];
	char *got = test_response_header(resp, name);
	snprintf(value, sizeof(value), "%s", got ? got : "");
	free(got);
	return value;
}

/* Inflate a gzip body; a new strbuf the caller releases. Fails the test if it is not gzip. */
static void gunzip(const struct strbuf *gz, struct strbuf *out)
{
	z_stream zs = {0};
	char chunk[16384];
	int rc;

	*out = (struct strbuf)STRBUF_INIT;
	ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)strbuf_str(gz);
	zs.avail_in = (uInt)gz->len;
	do {
		zs.next_out = (Bytef *)chunk;
		zs.avail_out = sizeof(chunk);
		rc = inflate(&zs, Z_NO_FLUSH);
		ck_assert_msg(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d", rc);
		strbuf_add(out, chunk, sizeof(chunk) - zs.avail_out);
	} while (rc != Z_STREAM_END);
	ck_assert_uint_eq(zs.avail_in, 0);
	inflateEnd(&zs);
}

START_TEST(accept_encoding_is_parsed)
{
	static const struct {
		const char *value;
		int gzip;
	} cases[] = {
		{NULL, 0},
		{"", 0},
		{"gzip", 1},
		{"GZip", 1},
		{"x-gzip", 1},
		{"deflate, gzip, br", 1},
		{"gzip, deflate, br, zstd", 1},
		{"gzip;q=0", 0},
		{"gzip; q=0.000", 0},
		{"gzip ;Q=0.001", 1},
		{"gzip;q=1.0", 1},
		{"gzip;q=0.5, identity;q=1", 1},
		{"*", 1},
		{"*;q=0", 0},
		{"gzip;q=0, *", 0},
		{"*;q=0, gzip", 1},
		{"identity", 0},
		{"br", 0},
		{"deflate, br;q=0.8", 0},
		{"gzipx", 0},
		{"gzip;q=2", 0},
		{"gzip;q=0.5000", 0},
		{"gzip;q=abc", 0},
		{" , ,gzip", 1},
		{",,,", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(http_accepts_gzip(cases[i].value) == cases[i].gzip,
			      "Accept-Encoding: %s", cases[i].value ? cases[i].value : "(none)");
}
END_TEST

/* Twenty projects with fields as long as a real page has, tagged tag. */
static void projects_new(struct test_server *ts, const struct test_member *m, const char *tag)
{
	static const char *const WORDS[] = {
		"A search engine for developers",      "built with Django and PostgreSQL",
		"full-text search over profiles",      "a React front end with routing",
		"deployed with Docker on a small VPS", "JWT authentication and refresh tokens",
		"image uploads resized on the server", "pagination, filters and ordering",
	};
	for (int i = 0; i < 20; i++) {
		char title[96], description[600], demo[128], source[128], id_tag[64];
		json_t *j;
		snprintf(title, sizeof(title), "Project %d: %s", i, WORDS[i % 8]);
		snprintf(description, sizeof(description),
			 "%s, %s. Version %d adds %s and %s; the roadmap has %s. Issue %d "
			 "tracks %s.",
			 WORDS[(i + 1) % 8], WORDS[(i + 3) % 8], i + 1, WORDS[(i + 5) % 8],
			 WORDS[(i + 2) % 8], WORDS[(i + 7) % 8], 100 + i * 7, WORDS[(i + 4) % 8]);
		snprintf(demo, sizeof(demo), "https://demo-%d.example.com/app", i);
		snprintf(source, sizeof(source), "https://github.com/%s/project-%d", m->a.username,
			 i);
		snprintf(id_tag, sizeof(id_tag), "topic%d", i % 5);
		ck_assert_int_eq(test_post(ts, "/api/projects", test_bearer(m->access),
					   json_pack("{s:s,s:s,s:s,s:s,s:[s,s]}", "title", title,
						     "description", description, "demo_link", demo,
						     "source_link", source, "tags", tag, id_tag),
					   &j),
				 201);
		json_decref(j);
	}
}

START_TEST(page_of_projects_is_gzipped)
{
	struct test_server ts;
	struct test_response plain, gz;
	struct strbuf inflated;
	struct test_member m;
	char tag[64], path[160], etag[520];

	server_start(&ts, NULL);
	test_member_new(&ts, &m, "gz");
	test_unique(tag, sizeof(tag), "gztag");
	projects_new(&ts, &m, tag);
	/* A logged-in reader: the response cache stays out of it (the dispatcher compresses). */
	snprintf(path, sizeof(path), "/api/projects?tag=%s", tag);
	const char *bearer_gzip[] = {"Accept-Encoding: gzip", NULL, NULL};
	char auth[1024];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", m.access);
	bearer_gzip[1] = auth;
	const char *bearer[] = {auth, NULL};

	ck_assert_int_eq(get(&ts, "GET", path, bearer, &plain), 200);
	ck_assert_str_eq(header(&plain, "Content-Encoding"), "");
	ck_assert_str_eq(header(&plain, "Vary"), "Origin, Accept-Encoding");
	ck_assert_int_eq(get(&ts, "GET", path, bearer_gzip, &gz), 200);
	ck_assert_str_eq(header(&gz, "Content-Encoding"), "gzip");
	ck_assert_str_eq(header(&gz, "Vary"), "Origin, Accept-Encoding");
	ck_assert_uint_eq(strtoul(header(&gz, "Content-Length"), NULL, 10), gz.body.len);
	gunzip(&gz.body, &inflated);
	ck_assert_uint_eq(inflated.len, plain.body.len);
	ck_assert(!memcmp(strbuf_str(&inflated), strbuf_str(&plain.body), plain.body.len));
	fprintf(stderr, "compress: a page of 20 projects: %zu bytes, gzip %zu (%.1fx)\n",
		plain.body.len, gz.body.len, (double)plain.body.len / (double)gz.body.len);
	ck_assert_msg(plain.body.len >= 4 * gz.body.len, "%zu -> %zu", plain.body.len, gz.body.len);
	/* Django's GZipMiddleware: the compressed form's ETag is the plain one made weak. */
	snprintf(etag, sizeof(etag), "W/%s", header(&plain, "ETag"));
	ck_assert_str_eq(header(&gz, "ETag"), etag);
	strbuf_release(&inflated);
	test_response_release(&plain);
	test_response_release(&gz);
	test_member_free(&m);
	test_server_stop(&ts);
}
END_TEST

/* path answers 200 to headers, uncompressed. */
static void assert_plain(struct test_server *ts, const char *path, const char *const *headers)
{
	struct test_response resp;
	ck_assert_int_eq(get(ts, "GET", path, headers, &resp), 200);
	ck_assert_msg(!*header(&resp, "Content-Encoding"), "%s: compressed for %s", path,
		      headers && headers[0] ? headers[0] : "(no header)");
	ck_assert_uint_eq(strtoul(header(&resp, "Content-Length"), NULL, 10), resp.body.len);
	test_response_release(&resp);
}

START_TEST(only_clients_that_ask_get_gzip)
{
	struct test_server ts;
	struct test_response resp;
	static const char *const refusals[][2] = {
		{"Accept-Encoding: gzip;q=0", NULL},
		{"Accept-Encoding: identity", NULL},
		{"Accept-Encoding: br, deflate", NULL},
		{"Accept-Encoding: gzip;q=0, *", NULL},
		{"Accept-Encoding:", NULL},
	};

	server_start(&ts, NULL);
	/* The OpenAPI document is tens of KiB: over the threshold, so only Accept-Encoding decides. */
	assert_plain(&ts, "/api/openapi.yaml", NULL);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		assert_plain(&ts, "/api/openapi.yaml", refusals[i]);
	ck_assert_int_eq(get(&ts, "GET", "/api/openapi.yaml", NULL, &resp), 200);
	ck_assert_str_eq(header(&resp, "Vary"), "Origin, Accept-Encoding");
	test_response_release(&resp);
	ck_assert_int_eq(get(&ts, "GET", "/api/openapi.yaml", GZIP, &resp), 200);
	ck_assert_str_eq(header(&resp, "Content-Encoding"), "gzip");
	ck_assert_str_eq(header(&resp, "Vary"), "Origin, Accept-Encoding");
	test_response_release(&resp);

	/* Under the threshold: plain, and nothing varies on Accept-Encoding. */
	assert_plain(&ts, "/api/health", GZIP);
	ck_assert_int_eq(get(&ts, "GET", "/api/health", GZIP, &resp), 200);
	ck_assert_str_eq(header(&resp, "Vary"), "Origin");
	test_response_release(&resp);
	test_server_stop(&ts);

	/* 0 turns compression off. */
	server_start(&ts, "0");
	assert_plain(&ts, "/api/openapi.yaml", GZIP);
	ck_assert_int_eq(get(&ts, "GET", "/api/openapi.yaml", GZIP, &resp), 200);
	ck_assert_str_eq(header(&resp, "Vary"), "Origin");
	test_response_release(&resp);
	test_server_stop(&ts);
}
END_TEST

START_TEST(token_answers_are_never_compressed)
{
	struct test_server ts;
	struct test_response resp;
	struct test_member m;
	char body[512];

	/* A threshold small enough for a token pair, to show no-store is what keeps it plain. */
	server_start(&ts, "16");
	test_member_new(&ts, &m, "gzt");
	assert_plain(&ts, "/api/health", NULL);
	ck_assert_int_eq(get(&ts, "GET", "/api/health", GZIP, &resp), 200);
	ck_assert_str_eq(header(&resp, "Content-Encoding"), "gzip");
	test_response_release(&resp);

	const char *headers[] = {"Content-Type: application/json", "Accept-Encoding: gzip", NULL};
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", m.a.username,
		 TEST_PASSWORD);
	ck_assert_int_eq(test_call(&ts, "POST", "/api/users/token", headers, body, &resp, NULL),
			 200);
	ck_assert_str_eq(header(&resp, "Cache-Control"), "no-store");
	ck_assert_str_eq(header(&resp, "Content-Encoding"), "");
	ck_assert_ptr_nonnull(strstr(strbuf_str(&resp.body), "\"refresh\""));
	test_response_release(&resp);

	snprintf(body, sizeof(body), "{\"refresh\":\"%s\"}", m.refresh);
	ck_assert_int_eq(
		test_call(&ts, "POST", "/api/users/token/refresh", headers, body, &resp, NULL),
		200);
	ck_assert_str_eq(header(&resp, "Content-Encoding"), "");
	ck_assert_ptr_nonnull(strstr(strbuf_str(&resp.body), "\"access\""));
	test_response_release(&resp);
	test_member_free(&m);
	test_server_stop(&ts);
}
END_TEST

START_TEST(cache_keeps_the_gzip_form)
{
	struct test_server ts;
	struct test_response first, again, plain;
	struct response_cache_stats before, after;
	struct test_member m;
	char tag[64], path[200];

	server_start(&ts, NULL);
	test_member_new(&ts, &m, "gzc");
	test_unique(tag, sizeof(tag), "gzctag");
	projects_new(&ts, &m, tag);

	/* Stored by a gzip request: compressed once, at store time; the hits send that form. */
	snprintf(path, sizeof(path), "/api/projects?tag=%s&first=gzip", tag);
	response_cache_stats(ts.app.cache, &before);
	ck_assert_int_eq(get(&ts, "GET", path, GZIP, &first), 200);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(get(&ts, "GET", path, GZIP, &again), 200);
		ck_assert_str_eq(header(&again, "Content-Encoding"), "gzip");
		ck_assert_str_eq(header(&again, "ETag"), header(&first, "ETag"));
		ck_assert_uint_eq(again.body.len, first.body.len);
		ck_assert(
			!memcmp(strbuf_str(&again.body), strbuf_str(&first.body), first.body.len));
		test_response_release(&again);
	}
	response_cache_stats(ts.app.cache, &after);
	ck_assert_uint_eq(after.stores - before.stores, 1);
	ck_assert_uint_eq(after.gzip_stores - before.gzip_stores, 1);
	ck_assert_uint_eq(after.gzip_hits - before.gzip_hits, 2);
	/* A client without gzip still gets the plain body from the same entry. */
	ck_assert_int_eq(get(&ts, "GET", path, NULL, &plain), 200);
	ck_assert_str_eq(header(&plain, "Content-Encoding"), "");
	ck_assert_str_eq(header(&plain, "Vary"), "Origin, Accept-Encoding");
	struct strbuf inflated;
	gunzip(&first.body, &inflated);
	ck_assert_uint_eq(inflated.len, plain.body.len);
	ck_assert(!memcmp(strbuf_str(&inflated), strbuf_str(&plain.body), plain.body.len));
	strbuf_release(&inflated);
	test_response_release(&first);
	test_response_release(&plain);

	/* Stored by a plain request: compressed at the first gzip hit, never again. */
	snprintf(path, sizeof(path), "/api/projects?tag=%s&first=plain", tag);
	ck_assert_int_eq(get(&ts, "GET", path, NULL, &plain), 200);
	response_cache_stats(ts.app.cache, &before);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(get(&ts, "GET", path, GZIP, &again), 200);
		ck_assert_str_eq(header(&again, "Content-Encoding"), "gzip");
		test_response_release(&again);
	}
	response_cache_stats(ts.app.cache, &after);
	ck_assert_uint_eq(after.gzip_stores - before.gzip_stores, 1);
	ck_assert_uint_eq(after.gzip_hits - before.gzip_hits, 2);
	ck_assert_uint_eq(after.hits - before.hits, 3);
	/* The gzip form counts in the byte budget. */
	ck_assert_uint_gt(after.bytes, before.bytes);
	test_response_release(&plain);
	test_member_free(&m);
	test_server_stop(&ts);
}
END_TEST

/* A 304 for If-None-Match: inm with headers (plus the If-None-Match); its ETag must be want. */
static void assert_not_modified(struct test_server *ts, const char *path, const char *inm, int gzip,
				const char *want)
{
	struct test_response resp;
	char line[128];
	snprintf(line, sizeof(line), "If-None-Match: %s", inm);
	const char *headers[] = {line, gzip ? GZIP[0] : NULL, NULL};
	ck_assert_int_eq(get(ts, "GET", path, headers, &resp), 304);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_str_eq(header(&resp, "ETag"), want);
	ck_assert_str_eq(header(&resp, "Content-Encoding"), "");
	ck_assert_str_eq(header(&resp, "Vary"), "Origin, Accept-Encoding");
	test_response_release(&resp);
}

START_TEST(etag_matches_either_form)
{
	struct test_server ts;
	struct test_response plain, gz;
	struct test_member m;
	char tag[64], path[200], strong[520], weak[520];

	server_start(&ts, NULL);
	test_member_new(&ts, &m, "gze");
	test_unique(tag, sizeof(tag), "gzetag");
	projects_new(&ts, &m, tag);
	snprintf(path, sizeof(path), "/api/projects?tag=%s", tag);
	for (int round = 0; round < 2; round++) { /* a miss, then hits of the cache */
		ck_assert_int_eq(get(&ts, "GET", path, NULL, &plain), 200);
		ck_assert_int_eq(get(&ts, "GET", path, GZIP, &gz), 200);
		snprintf(strong, sizeof(strong), "%s", header(&plain, "ETag"));
		snprintf(weak, sizeof(weak), "%s", header(&gz, "ETag"));
		ck_assert_int_eq(strong[0], '"');
		ck_assert_str_eq(weak + 2, strong);
		ck_assert(!strncmp(weak, "W/", 2));
		assert_not_modified(&ts, path, weak, 1, weak);
		assert_not_modified(&ts, path, strong, 1, weak);
		assert_not_modified(&ts, path, weak, 0, strong);
		assert_not_modified(&ts, path, strong, 0, strong);
		test_response_release(&plain);
		test_response_release(&gz);
	}
	test_member_free(&m);
	test_server_stop(&ts);
}
END_TEST

/* Ids of real rows for every {id} in the route table. */
struct ids {
	char project[37], profile[37], message[37], note[37];
};

static void ids_fill(struct test_server *ts, const struct test_member *m,
		     const struct test_member *other, struct ids *ids)
{
	char path[128], tag[64];
	json_t *j;

	test_unique(tag, sizeof(tag), "headtag");
	ck_assert_int_eq(test_post(ts, "/api/projects", test_bearer(m->access),
				   json_pack("{s:s,s:[s]}", "title", "Head", "tags", tag), &j),
			 201);
	snprintf(ids->project, sizeof(ids->project), "%s",
		 json_string_value(json_object_get(j, "id")));
	json_decref(j);
	snprintf(ids->profile, sizeof(ids->profile), "%s", m->a.profile_id);
	snprintf(path, sizeof(path), "/api/profiles/%s/messages", m->a.profile_id);
	ck_assert_int_eq(test_post(ts, path, test_bearer(other->access),
				   json_pack("{s:s,s:s}", "subject", "Hi", "body", "Hello"), &j),
			 201);
	snprintf(ids->message, sizeof(ids->message), "%s",
		 json_string_value(json_object_get(j, "id")));
	json_decref(j);
	ck_assert_int_eq(test_post(ts, "/api/notes", test_bearer(m->access),
				   json_pack("{s:s,s:s}", "title", "Note", "body", "Text"), &j),
			 201);
	snprintf(ids->note, sizeof(ids->note), "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
}

/* The route's pattern with real ids (and a file name for the rest parameters) into out. */
static void route_path(const char *pattern, const struct ids *ids, char *out, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = pattern;
	while (*p) {
		const char *open = strchr(p, '{');
		if (!open) {
			strbuf_addstr(&sb, p);
			break;
		}
		strbuf_add(&sb, p, (size_t)(open - p));
		const char *close = strchr(open, '}');
		const char *id = !strncmp(pattern, "/api/projects", 13)   ? ids->project
				 : !strncmp(pattern, "/api/profiles", 13) ? ids->profile
				 : !strncmp(pattern, "/api/inbox", 10)    ? ids->message
				 : !strncmp(pattern, "/api/notes", 10)    ? ids->note
									  : NULL;
		/* A rest parameter ({name...}): a file that is there for docs, not for media. */
		strbuf_addstr(&sb, strstr(open, "...}") == close - 3 ? "init.js"
				   : id                              ? id
					: "00000000-0000-4000-8000-000000000000");
		p = close + 1;
	}
	snprintf(out, size, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
}

/* HEAD of path answers as GET does, with headers, and no body. */
static void assert_head_like_get(struct test_server *ts, const char *path,
				 const char *const *headers)
{
	static const char *const SAME[] = {"Content-Type", "Content-Length", "Content-Encoding",
					   "ETag",         "Vary",           "Allow",
					   "Cache-Control"};
	struct test_response got, head;
	long status = get(ts, "GET", path, headers, &got);
	ck_assert_int_eq(get(ts, "HEAD", path, headers, &head), status);
	ck_assert_msg(head.body.len == 0, "HEAD %s: %zu bytes of body", path, head.body.len);
	ck_assert_uint_eq(strtoul(header(&got, "Content-Length"), NULL, 10), got.body.len);
	for (size_t i = 0; i < sizeof(SAME) / sizeof(SAME[0]); i++) {
		char want[512];
		snprintf(want, sizeof(want), "%s", header(&got, SAME[i]));
		ck_assert_msg(!strcmp(header(&head, SAME[i]), want),
			      "HEAD %s: %s \"%s\", GET \"%s\"", path, SAME[i],
			      header(&head, SAME[i]), want);
	}
	test_response_release(&got);
	test_response_release(&head);
}

START_TEST(head_and_options_on_every_route)
{
	struct test_server ts;
	struct test_response resp;
	struct test_member m, other;
	struct ids ids;
	char path[256], auth[1024];
	size_t gets = 0;

	server_start(&ts, NULL);
	test_member_new(&ts, &m, "hd");
	test_member_new(&ts, &other, "hdo");
	ids_fill(&ts, &m, &other, &ids);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", m.access);
	const char *anonymous_gzip[] = {"Accept-Encoding: gzip", NULL};
	const char *member[] = {auth, NULL};
	const char *member_gzip[] = {auth, "Accept-Encoding: gzip", NULL};

	for (size_t i = 0; i < router_count(ts.router); i++) {
		const struct route *r = router_at(ts.router, i);
		route_path(r->pattern, &ids, path, sizeof(path));
		/* OPTIONS on every route lists its methods. */
		ck_assert_msg(get(&ts, "OPTIONS", path, NULL, &resp) == 200, "OPTIONS %s: %ld",
			      path, resp.status);
		const char *allow = header(&resp, "Allow");
		ck_assert_msg(strstr(allow, r->method) && strstr(allow, "OPTIONS"),
			      "OPTIONS %s: Allow \"%s\" lacks %s", path, allow, r->method);
		test_response_release(&resp);
		if (strcmp(r->method, "GET"))
			continue;
		gets++;
		/* Twice anonymously: a cache miss, then a hit where the route is cached. */
		for (int k = 0; k < 2; k++) {
			assert_head_like_get(&ts, path, NULL);
			assert_head_like_get(&ts, path, anonymous_gzip);
		}
		assert_head_like_get(&ts, path, member);
		assert_head_like_get(&ts, path, member_gzip);
	}
	ck_assert_uint_ge(gets, 20);
	/* And for answers that are not 200: a missing row, a missing path. */
	assert_head_like_get(&ts, "/api/projects/00000000-0000-4000-8000-000000000000", NULL);
	assert_head_like_get(&ts, "/api/nowhere", anonymous_gzip);
	test_member_free(&m);
	test_member_free(&other);
	test_server_stop(&ts);
}
END_TEST

Suite *compress_suite(void)
{
	Suite *s = suite_create("compress");
	TCase *tc = tcase_create("compress");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, accept_encoding_is_parsed);
	tcase_add_test(tc, page_of_projects_is_gzipped);
	tcase_add_test(tc, only_clients_that_ask_get_gzip);
	tcase_add_test(tc, token_answers_are_never_compressed);
	tcase_add_test(tc, cache_keeps_the_gzip_form);
	tcase_add_test(tc, etag_matches_either_form);
	tcase_add_test(tc, head_and_options_on_every_route);
	suite_add_tcase(s, tc);
	return s;
}
