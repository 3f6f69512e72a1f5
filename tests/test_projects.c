/*
 * Projects, votes and tags over HTTP against the real server and database:
 * every endpoint's success path, the permission matrix (anonymous, someone
 * else, owner, staff), each validation rule, search, filters and pagination,
 * a fixed number of statements per list whatever the page size, the search
 * plan on a few thousand projects, and concurrent votes and tag creations.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/db.h"
#include "models/project.h"
#include "support.h"

static struct test_server ts;

static const char NO_SUCH_ID[] = "00000000-0000-4000-8000-000000000000";

struct member {
	struct test_account a;
	char *access;
	char *refresh;
};

static void projects_up(void)
{
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
	test_server_start(&ts, NULL, 0);
}

static void projects_down(void)
{
	test_server_stop(&ts);
}

static void user_new(struct member *u, const char *prefix)
{
	test_register(&ts, &u->a, prefix);
	ck_assert_int_eq(test_login(&ts, u->a.username, TEST_PASSWORD, &u->access, &u->refresh),
			 200);
}

static void user_free(struct member *u)
{
	free(u->access);
	free(u->refresh);
}

static void make_staff(const struct member *u)
{
	free(test_sql("UPDATE users SET is_staff = true WHERE id = $1", u->a.user_id, NULL));
}

/* method path with j_body (stolen, may be NULL) as u (NULL: anonymous); *j the answer. */
static long call(const char *method, const char *path, const struct member *u, json_t *j_body,
		 json_t **j)
{
	return test_send(&ts, method, path, u ? test_bearer(u->access) : NULL, j_body, j);
}

/* The same, keeping the response (headers) in *resp (release it). */
static long call_full(const char *method, const char *path, const struct member *u, json_t *j_body,
		      struct test_response *resp, json_t **j)
{
	char *text = j_body ? json_dumps(j_body, JSON_COMPACT) : NULL;
	json_decref(j_body);
	long status =
		test_call(&ts, method, path, u ? test_bearer(u->access) : TEST_JSON, text, resp, j);
	free(text);
	return status;
}

static const char *str(const json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static long num(const json_t *j, const char *key)
{
	return (long)json_integer_value(json_object_get(j, key));
}

/* The first message of j[field] (a list of messages). */
static const char *first_error(const json_t *j, const char *field)
{
	return json_string_value(json_array_get(json_object_get(j, field), 0));
}

static void assert_detail(const json_t *j, const char *code, const char *detail)
{
	ck_assert_str_eq(str(j, "code"), code);
	ck_assert_str_eq(str(j, "detail"), detail);
}

static void project_path(char *out, size_t size, const char *id, const char *suffix)
{
	snprintf(out, size, "/api/projects/%s%s", id, suffix ? suffix : "");
}

/* Create a project as u from j_body (stolen); its id into id. */
static void project_new(const struct member *u, json_t *j_body, char id[37])
{
	json_t *j;
	ck_assert_int_eq(call("POST", "/api/projects", u, j_body, &j), 201);
	snprintf(id, 37, "%s", str(j, "id"));
	json_decref(j);
}

static void project_new_titled(const struct member *u, const char *title, char id[37])
{
	project_new(u, json_pack("{s:s}", "title", title), id);
}

static long project_get(const char *id, json_t **j)
{
	char path[128];
	project_path(path, sizeof(path), id, NULL);
	return call("GET", path, NULL, NULL, j);
}

static long vote(const struct member *u, const char *id, const char *value, json_t **j)
{
	char path[128];
	project_path(path, sizeof(path), id, "/vote");
	return call("POST", path, u, json_pack("{s:s}", "value", value), j);
}

/* A word unique to this test: no other project or tag contains it. */
static void unique_word(char *out, size_t size, const char *prefix)
{
	char base[48];
	test_unique(base, sizeof(base), prefix);
	snprintf(out, size, "%sq", base);
}

/* The names of j_list's items (field key), joined by ",". */
static void joined(const json_t *j_list, const char *key, char *out, size_t size)
{
	size_t i, len = 0;
	json_t *j_item;
	out[0] = '\0';
	json_array_foreach(j_list, i, j_item)
	{
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "," : "",
					str(j_item, key));
		ck_assert(len < size);
	}
}

static char *sql_value(const char *sql, const char *p1, const char *p2)
{
	return test_sql(sql, p1, p2);
}

static void assert_sql(const char *want, const char *sql, const char *p1, const char *p2)
{
	char *got = sql_value(sql, p1, p2);
	ck_assert_msg(got && !strcmp(got, want), "%s: want %s, got %s", sql, want,
		      got ? got : "NULL");
	free(got);
}

START_TEST(create_and_read)
{
	struct member alice, bob;
	struct test_response resp;
	char path[128], id[37], id2[37], word[64], c_tag[80], rest_tag[80], spaced[96];
	json_t *j;

	user_new(&alice, "alice");
	user_new(&bob, "bob");
	unique_word(word, sizeof(word), "cr");
	snprintf(c_tag, sizeof(c_tag), "C%s", word);
	snprintf(rest_tag, sizeof(rest_tag), "REST%s", word);
	snprintf(spaced, sizeof(spaced), " %s ", rest_tag);

	ck_assert_int_eq(
		call_full("POST", "/api/projects/", &alice,
			  json_pack("{s:s,s:s,s:s,s:[s,s],s:i,s:i,s:s}", "title", "DevSearch in C",
				    "description", "A drop-in C port.", "source_link",
				    "https://github.com/alice/devsearch-c", "tags", spaced, c_tag,
				    "vote_total", 99, "id", 5, "created", "2000-01-01T00:00:00Z"),
			  &resp, &j),
		201);
	snprintf(id, sizeof(id), "%s", str(j, "id"));
	char *location = test_response_header(&resp, "Location");
	char want[256];
	snprintf(want, sizeof(want), "%s/api/projects/%s", ts.base, id);
	ck_assert_str_eq(location, want);
	free(location);
	test_response_release(&resp);
	ck_assert_str_eq(str(j, "title"), "DevSearch in C");
	ck_assert_str_eq(str(j, "description"), "A drop-in C port.");
	ck_assert_str_eq(str(j, "featured_image"), "");
	ck_assert_str_eq(str(j, "demo_link"), "");
	ck_assert_str_eq(str(j, "source_link"), "https://github.com/alice/devsearch-c");
	ck_assert_int_eq(num(j, "vote_total"), 0);
	ck_assert_int_eq(num(j, "vote_ratio"), 0);
	ck_assert_ptr_nonnull(str(j, "created"));
	ck_assert_str_ne(str(j, "created"), "2000-01-01T00:00:00Z");
	json_t *j_owner = json_object_get(j, "owner");
	ck_assert_str_eq(str(j_owner, "id"), alice.a.profile_id);
	ck_assert_str_eq(str(j_owner, "username"), alice.a.username);
	ck_assert_str_eq(str(j_owner, "name"), alice.a.username);
	ck_assert_str_eq(str(j_owner, "profile_image"), "");
	ck_assert_int_eq(json_object_size(j_owner), 4);
	/* Trimmed names, ordered by name. */
	json_t *j_tags = json_object_get(j, "tags");
	ck_assert_int_eq(json_array_size(j_tags), 2);
	ck_assert_str_eq(str(json_array_get(j_tags, 0), "name"), c_tag);
	ck_assert_str_eq(str(json_array_get(j_tags, 1), "name"), rest_tag);
	char rest_id[37];
	snprintf(rest_id, sizeof(rest_id), "%s", str(json_array_get(j_tags, 1), "id"));
	ck_assert_int_eq(json_array_size(json_object_get(j, "reviews")), 0);
	ck_assert_int_eq(json_object_size(j), 12);
	json_decref(j);

	/* The detail is the same project. */
	ck_assert_int_eq(project_get(id, &j), 200);
	ck_assert_str_eq(str(j, "id"), id);
	ck_assert_int_eq(json_array_size(json_object_get(j, "tags")), 2);
	json_decref(j);
	project_path(path, sizeof(path), id, "/");
	ck_assert_int_eq(call("GET", path, &bob, NULL, &j), 200);
	json_decref(j);

	/* Another project: an existing tag matched case-insensitively, a new one created. */
	char lower_rest[80], react[80];
	snprintf(lower_rest, sizeof(lower_rest), "rest%s", word);
	snprintf(react, sizeof(react), "react%s", word);
	ck_assert_int_eq(call("POST", "/api/projects", &bob,
			      json_pack("{s:s,s:[s,s,s]}", "title", "React dashboard", "tags",
					react, lower_rest, react),
			      &j),
			 201);
	snprintf(id2, sizeof(id2), "%s", str(j, "id"));
	j_tags = json_object_get(j, "tags");
	ck_assert_int_eq(json_array_size(j_tags), 2);
	ck_assert_str_eq(str(json_array_get(j_tags, 0), "id"), rest_id);
	ck_assert_str_eq(str(json_array_get(j_tags, 0), "name"), rest_tag);
	ck_assert_str_eq(str(json_array_get(j_tags, 1), "name"), react);
	json_decref(j);
	assert_sql("1", "SELECT count(*) FROM tags WHERE lower(name) = lower($1)", rest_tag, NULL);

	/* 404s: unknown id, not a UUID. */
	ck_assert_int_eq(project_get(NO_SUCH_ID, &j), 404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/projects/not-a-uuid", NULL, NULL, &j), 404);
	json_decref(j);

	/* Anonymous create: 401 with the challenge. */
	ck_assert_int_eq(call_full("POST", "/api/projects", NULL, json_pack("{s:s}", "title", "x"),
				   &resp, &j),
			 401);
	assert_detail(j, "not_authenticated", "Authentication credentials were not provided.");
	char *challenge = test_response_header(&resp, "WWW-Authenticate");
	ck_assert_str_eq(challenge, "Bearer realm=\"api\"");
	free(challenge);
	test_response_release(&resp);
	json_decref(j);
	user_free(&alice);
	user_free(&bob);
}
END_TEST

START_TEST(create_validation)
{
	struct member u;
	json_t *j;
	char long_title[256], long_tag[64], long_url[2100];

	user_new(&u, "val");
	/* Missing title, bad URL, too many tags: every error at once. */
	json_t *j_tags = json_array();
	for (int i = 0; i <= 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "t%d", i);
		json_array_append_new(j_tags, json_string(name));
	}
	ck_assert_int_eq(call("POST", "/api/projects", &u,
			      json_pack("{s:s,s:s,s:o}", "description", "no title", "demo_link",
					"javascript:alert(1)", "tags", j_tags),
			      &j),
			 400);
	ck_assert_str_eq(first_error(j, "title"), "This field is required.");
	ck_assert_str_eq(first_error(j, "demo_link"), "Enter a valid URL.");
	ck_assert_str_eq(first_error(j, "tags"), "Ensure this field has no more than 20 elements.");
	ck_assert_int_eq(json_object_size(j), 3);
	json_decref(j);

	/* Blank title, a blank tag name: errors keyed by index. */
	ck_assert_int_eq(call("POST", "/api/projects", &u,
			      json_pack("{s:s,s:[s,s]}", "title", "   ", "tags", "ok", "  "), &j),
			 400);
	ck_assert_str_eq(first_error(j, "title"), "This field may not be blank.");
	json_t *j_item = json_object_get(json_object_get(j, "tags"), "1");
	ck_assert_str_eq(json_string_value(json_array_get(j_item, 0)),
			 "This field may not be blank.");
	ck_assert_int_eq(json_object_size(json_object_get(j, "tags")), 1);
	json_decref(j);

	/* tags not a list. */
	ck_assert_int_eq(call("POST", "/api/projects", &u,
			      json_pack("{s:s,s:s}", "title", "x", "tags", "C"), &j),
			 400);
	ck_assert_str_eq(first_error(j, "tags"), "Expected a list of items but got type \"str\".");
	json_decref(j);
	ck_assert_int_eq(call("POST", "/api/projects", &u,
			      json_pack("{s:s,s:{}}", "title", "x", "tags"), &j),
			 400);
	ck_assert_str_eq(first_error(j, "tags"), "Expected a list of items but got type \"dict\".");
	json_decref(j);
	ck_assert_int_eq(
		call("POST", "/api/projects", &u, json_pack("{s:s,s:n}", "title", "x", "tags"), &j),
		400);
	ck_assert_str_eq(first_error(j, "tags"), "This field may not be null.");
	json_decref(j);

	/* Lengths: title 200, tag names 50, URLs 2000. */
	memset(long_title, 'a', 201);
	long_title[201] = '\0';
	memset(long_tag, 'b', 51);
	long_tag[51] = '\0';
	strcpy(long_url, "https://example.com/");
	memset(long_url + 20, 'c', 1990);
	long_url[2010] = '\0';
	ck_assert_int_eq(call("POST", "/api/projects", &u,
			      json_pack("{s:s,s:[s,i],s:s,s:s,s:n}", "title", long_title, "tags",
					long_tag, 7, "featured_image", long_url, "source_link",
					"ftp://example.com/x", "description"),
			      &j),
			 400);
	ck_assert_str_eq(first_error(j, "title"),
			 "Ensure this field has no more than 200 characters.");
	ck_assert_str_eq(first_error(j, "featured_image"),
			 "Ensure this field has no more than 2000 characters.");
	ck_assert_str_eq(first_error(j, "source_link"), "Enter a valid URL.");
	ck_assert_str_eq(first_error(j, "description"), "This field may not be null.");
	j_item = json_object_get(json_object_get(j, "tags"), "0");
	ck_assert_str_eq(json_string_value(json_array_get(j_item, 0)),
			 "Ensure this field has no more than 50 characters.");
	ck_assert_ptr_null(json_object_get(json_object_get(j, "tags"), "1"));
	json_decref(j);

	/* A NUL character is that field's error; wrong types too. */
	ck_assert_int_eq(call("POST", "/api/projects", &u,
			      json_pack("{s:s,s:s%,s:[b]}", "title", "ok", "description", "a\0b",
					(size_t)3, "tags", 1),
			      &j),
			 400);
	ck_assert_str_eq(first_error(j, "description"), "Null characters are not allowed.");
	j_item = json_object_get(json_object_get(j, "tags"), "0");
	ck_assert_str_eq(json_string_value(json_array_get(j_item, 0)), "Not a valid string.");
	json_decref(j);
	ck_assert_int_eq(call("POST", "/api/projects", &u, json_pack("{s:[]}", "title"), &j), 400);
	ck_assert_str_eq(first_error(j, "title"), "Not a valid string.");
	json_decref(j);

	/* Not an object; not JSON. */
	ck_assert_int_eq(call("POST", "/api/projects", &u, json_pack("[s]", "x"), &j), 400);
	ck_assert_ptr_nonnull(json_object_get(j, "non_field_errors"));
	json_decref(j);

	/* Blank optional fields are fine; nothing of the failed ones was written. */
	ck_assert_int_eq(call("POST", "/api/projects", &u,
			      json_pack("{s:s,s:s,s:s,s:[]}", "title", "Blank links", "demo_link",
					"", "description", "", "tags"),
			      &j),
			 201);
	ck_assert_str_eq(str(j, "demo_link"), "");
	json_decref(j);
	assert_sql("1", "SELECT count(*) FROM projects WHERE owner_id = $1", u.a.profile_id, NULL);
	user_free(&u);
}
END_TEST

START_TEST(put_and_patch)
{
	struct member u;
	char id[37], path[128], word[64], t1[80], t2[80], t3[80], t2_lower[80];
	json_t *j;

	user_new(&u, "upd");
	unique_word(word, sizeof(word), "up");
	snprintf(t1, sizeof(t1), "C%s", word);
	snprintf(t2, sizeof(t2), "PostgreSQL%s", word);
	snprintf(t3, sizeof(t3), "REST%s", word);
	snprintf(t2_lower, sizeof(t2_lower), "postgresql%s", word);
	project_new(&u,
		    json_pack("{s:s,s:s,s:s,s:[s,s,s]}", "title", "Scratch", "description",
			      "Kept by PUT.", "demo_link", "http://demo.example.com", "tags", t1,
			      t2, t3),
		    id);
	project_path(path, sizeof(path), id, NULL);

	/* PATCH tags: the list replaces the project's tags. */
	char jansson[80];
	snprintf(jansson, sizeof(jansson), "jansson%s", word);
	ck_assert_int_eq(
		call("PATCH", path, &u,
		     json_pack("{s:[s,s,s],s:i}", "tags", t1, t2_lower, jansson, "vote_total", 50),
		     &j),
		200);
	char names[512];
	joined(json_object_get(j, "tags"), "name", names, sizeof(names));
	char want[512];
	snprintf(want, sizeof(want), "%s,%s,%s", t1, t2, jansson);
	ck_assert_str_eq(names, want);
	ck_assert_str_eq(str(j, "title"), "Scratch");
	ck_assert_int_eq(num(j, "vote_total"), 0);
	json_decref(j);
	/* The dropped tag stays, with no project. */
	assert_sql("0",
		   "SELECT count(*) FROM project_tags pt JOIN tags t ON t.id = pt.tag_id "
		   "WHERE t.name = $1",
		   t3, NULL);
	assert_sql("1", "SELECT count(*) FROM tags WHERE name = $1", t3, NULL);

	/* PUT with only the required field: the others keep their values. */
	ck_assert_int_eq(call("PUT", path, &u, json_pack("{s:s}", "title", "Scratch v2"), &j), 200);
	ck_assert_str_eq(str(j, "title"), "Scratch v2");
	ck_assert_str_eq(str(j, "description"), "Kept by PUT.");
	ck_assert_str_eq(str(j, "demo_link"), "http://demo.example.com");
	ck_assert_int_eq(json_array_size(json_object_get(j, "tags")), 3);
	json_decref(j);

	/* PUT without title; PATCH with a blank one. */
	ck_assert_int_eq(call("PUT", path, &u, json_pack("{s:s}", "description", "x"), &j), 400);
	ck_assert_str_eq(first_error(j, "title"), "This field is required.");
	ck_assert_int_eq(json_object_size(j), 1);
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, &u,
			      json_pack("{s:s,s:s}", "title", "", "source_link", "nope"), &j),
			 400);
	ck_assert_str_eq(first_error(j, "title"), "This field may not be blank.");
	ck_assert_str_eq(first_error(j, "source_link"), "Enter a valid URL.");
	json_decref(j);
	/* A failed update changed nothing. */
	ck_assert_int_eq(project_get(id, &j), 200);
	ck_assert_str_eq(str(j, "title"), "Scratch v2");
	ck_assert_str_eq(str(j, "description"), "Kept by PUT.");
	json_decref(j);

	/* PATCH of a few fields, then an empty tag list clears the tags. */
	ck_assert_int_eq(
		call("PATCH", path, &u,
		     json_pack("{s:s,s:s}", "description", "  New text  ", "demo_link", ""), &j),
		200);
	ck_assert_str_eq(str(j, "description"), "New text");
	ck_assert_str_eq(str(j, "demo_link"), "");
	ck_assert_str_eq(str(j, "title"), "Scratch v2");
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, &u, json_pack("{s:[]}", "tags"), &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "tags")), 0);
	json_decref(j);
	/* Duplicates in one list make one tag. */
	ck_assert_int_eq(call("PATCH", path, &u, json_pack("{s:[s,s]}", "tags", t3, word), &j),
			 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "tags")), 2);
	json_decref(j);
	char upper[80];
	snprintf(upper, sizeof(upper), "%s", word);
	for (char *p = upper; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	ck_assert_int_eq(call("PATCH", path, &u, json_pack("{s:[s,s]}", "tags", upper, word), &j),
			 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "tags")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "tags"), 0), "name"), word);
	json_decref(j);

	/* 404 before the body is looked at. */
	project_path(path, sizeof(path), NO_SUCH_ID, NULL);
	ck_assert_int_eq(call("PATCH", path, &u, json_pack("{s:s}", "title", ""), &j), 404);
	json_decref(j);
	user_free(&u);
}
END_TEST

/* status of method on path as u, with a small valid body for writes. */
static long try_change(const char *method, const char *path, const struct member *u, json_t *j_body)
{
	json_t *j = NULL;
	long status = call(method, path, u, j_body, &j);
	json_decref(j);
	return status;
}

START_TEST(permission_matrix)
{
	struct member owner, other, staff;
	char id[37], path[128], tags_path[160], tag_path[256], word[64];
	json_t *j;

	user_new(&owner, "own");
	user_new(&other, "oth");
	user_new(&staff, "stf");
	make_staff(&staff);
	unique_word(word, sizeof(word), "pm");
	project_new_titled(&owner, "Guarded", id);
	project_path(path, sizeof(path), id, NULL);
	project_path(tags_path, sizeof(tags_path), id, "/tags");

	const char *const methods[] = {"PUT", "PATCH"};
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(
			try_change(methods[i], path, NULL, json_pack("{s:s}", "title", "anon")),
			401);
		ck_assert_int_eq(
			call(methods[i], path, &other, json_pack("{s:s}", "title", "Mine now"), &j),
			403);
		assert_detail(j, "permission_denied",
			      "You do not have permission to perform this action.");
		json_decref(j);
		ck_assert_int_eq(try_change(methods[i], path, &owner,
					    json_pack("{s:s}", "title", "By owner")),
				 200);
		ck_assert_int_eq(try_change(methods[i], path, &staff,
					    json_pack("{s:s}", "title", "By staff")),
				 200);
	}
	ck_assert_int_eq(project_get(id, &j), 200);
	ck_assert_str_eq(str(j, "title"), "By staff");
	/* Staff edits keep the owner. */
	ck_assert_str_eq(str(json_object_get(j, "owner"), "id"), owner.a.profile_id);
	json_decref(j);

	/* A project's tags. */
	ck_assert_int_eq(try_change("POST", tags_path, NULL, json_pack("{s:s}", "name", word)),
			 401);
	ck_assert_int_eq(try_change("POST", tags_path, &other, json_pack("{s:s}", "name", word)),
			 403);
	ck_assert_int_eq(call("POST", tags_path, &owner, json_pack("{s:s}", "name", word), &j),
			 201);
	snprintf(tag_path, sizeof(tag_path), "%s/%s", tags_path, str(j, "id"));
	json_decref(j);
	ck_assert_int_eq(try_change("POST", tags_path, &staff, json_pack("{s:s}", "name", "x")),
			 201);
	ck_assert_int_eq(try_change("DELETE", tag_path, NULL, NULL), 401);
	ck_assert_int_eq(try_change("DELETE", tag_path, &other, NULL), 403);
	ck_assert_int_eq(try_change("DELETE", tag_path, &staff, NULL), 204);
	ck_assert_int_eq(try_change("POST", tags_path, &owner, json_pack("{s:s}", "name", word)),
			 201);
	ck_assert_int_eq(try_change("DELETE", tag_path, &owner, NULL), 204);

	/* Delete: anonymous, someone else, then the owner; staff on another project. */
	ck_assert_int_eq(try_change("DELETE", path, NULL, NULL), 401);
	ck_assert_int_eq(try_change("DELETE", path, &other, NULL), 403);
	ck_assert_int_eq(try_change("DELETE", path, &owner, NULL), 204);
	ck_assert_int_eq(try_change("DELETE", path, &owner, NULL), 404);
	char id2[37], path2[128];
	project_new_titled(&owner, "Staff deletes this", id2);
	project_path(path2, sizeof(path2), id2, NULL);
	ck_assert_int_eq(try_change("DELETE", path2, &staff, NULL), 204);

	/* A project without owner: only staff may change it. */
	char id3[37], path3[128];
	project_new_titled(&owner, "Orphan", id3);
	project_path(path3, sizeof(path3), id3, NULL);
	free(test_sql("UPDATE projects SET owner_id = NULL WHERE id = $1", id3, NULL));
	ck_assert_int_eq(project_get(id3, &j), 200);
	ck_assert(json_is_null(json_object_get(j, "owner")));
	json_decref(j);
	ck_assert_int_eq(try_change("PATCH", path3, &owner, json_pack("{s:s}", "title", "x")), 403);
	ck_assert_int_eq(try_change("PATCH", path3, &staff, json_pack("{s:s}", "title", "Kept")),
			 200);

	/* An unknown project: 404 for anyone signed in, 401 for anonymous. */
	project_path(path, sizeof(path), NO_SUCH_ID, NULL);
	ck_assert_int_eq(try_change("DELETE", path, &other, NULL), 404);
	ck_assert_int_eq(try_change("DELETE", path, NULL, NULL), 401);
	project_path(path, sizeof(path), NO_SUCH_ID, "/tags");
	ck_assert_int_eq(try_change("POST", path, &staff, json_pack("{s:s}", "name", "x")), 404);
	user_free(&owner);
	user_free(&other);
	user_free(&staff);
}
END_TEST

START_TEST(delete_takes_reviews_and_tag_links)
{
	struct member owner, voter;
	char id[37], path[128], word[64];
	json_t *j;

	user_new(&owner, "del");
	user_new(&voter, "delv");
	unique_word(word, sizeof(word), "dl");
	project_new(&owner, json_pack("{s:s,s:[s]}", "title", "Short-lived", "tags", word), id);
	ck_assert_int_eq(vote(&voter, id, "up", &j), 200);
	json_decref(j);
	project_path(path, sizeof(path), id, NULL);
	struct test_response resp;
	ck_assert_int_eq(call_full("DELETE", path, &owner, NULL, &resp, &j), 204);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(resp.body.len, 0);
	test_response_release(&resp);
	ck_assert_int_eq(project_get(id, &j), 404);
	json_decref(j);
	assert_sql("0", "SELECT count(*) FROM reviews WHERE project_id = $1", id, NULL);
	assert_sql("0", "SELECT count(*) FROM project_tags WHERE project_id = $1", id, NULL);
	assert_sql("1", "SELECT count(*) FROM tags WHERE name = $1", word, NULL);
	user_free(&owner);
	user_free(&voter);
}
END_TEST

START_TEST(voting)
{
	struct member alice, bob, carol, staff;
	char id[37], path[128];
	json_t *j;

	user_new(&alice, "va");
	user_new(&bob, "vb");
	user_new(&carol, "vc");
	user_new(&staff, "vs");
	make_staff(&staff);
	project_new_titled(&alice, "Votable", id);
	project_path(path, sizeof(path), id, "/vote");

	ck_assert_int_eq(call("POST", path, &bob,
			      json_pack("{s:s,s:s}", "value", "up", "body", "Great work"), &j),
			 200);
	ck_assert_str_eq(str(j, "id"), id);
	ck_assert_int_eq(num(j, "vote_total"), 1);
	ck_assert_int_eq(num(j, "vote_ratio"), 100);
	json_t *j_review = json_array_get(json_object_get(j, "reviews"), 0);
	ck_assert_str_eq(str(j_review, "body"), "Great work");
	ck_assert_str_eq(str(j_review, "value"), "up");
	ck_assert_ptr_nonnull(str(j_review, "created"));
	json_t *j_owner = json_object_get(j_review, "owner");
	ck_assert_str_eq(str(j_owner, "id"), bob.a.profile_id);
	ck_assert_str_eq(str(j_owner, "username"), bob.a.username);
	ck_assert_str_eq(str(j_owner, "name"), bob.a.username);
	ck_assert_int_eq(json_object_size(j_owner), 3);
	char bob_review[37];
	snprintf(bob_review, sizeof(bob_review), "%s", str(j_review, "id"));
	json_decref(j);

	ck_assert_int_eq(vote(&carol, id, "down", &j), 200);
	ck_assert_int_eq(num(j, "vote_total"), 2);
	ck_assert_int_eq(num(j, "vote_ratio"), 50);
	ck_assert_int_eq(json_array_size(json_object_get(j, "reviews")), 2);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "reviews"), 1), "body"), "");
	json_decref(j);
	/* Staff may vote on someone else's project like anyone. */
	ck_assert_int_eq(vote(&staff, id, "down", &j), 200);
	ck_assert_int_eq(num(j, "vote_total"), 3);
	ck_assert_int_eq(num(j, "vote_ratio"), 33);
	json_decref(j);

	/* Voting again replaces the voter's review: value and body. */
	ck_assert_int_eq(call("POST", path, &bob,
			      json_pack("{s:s,s:s}", "value", "down", "body", " Changed my mind "),
			      &j),
			 200);
	ck_assert_int_eq(num(j, "vote_total"), 3);
	ck_assert_int_eq(num(j, "vote_ratio"), 0);
	j_review = json_array_get(json_object_get(j, "reviews"), 0);
	ck_assert_str_eq(str(j_review, "id"), bob_review);
	ck_assert_str_eq(str(j_review, "value"), "down");
	ck_assert_str_eq(str(j_review, "body"), "Changed my mind");
	json_decref(j);
	ck_assert_int_eq(vote(&bob, id, "up", &j), 200);
	ck_assert_int_eq(num(j, "vote_total"), 3);
	ck_assert_int_eq(num(j, "vote_ratio"), 33);
	/* A vote without body clears the old body. */
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "reviews"), 0), "body"), "");
	json_decref(j);
	assert_sql("3", "SELECT count(*) FROM reviews WHERE project_id = $1", id, NULL);

	/* One's own project. */
	ck_assert_int_eq(vote(&alice, id, "up", &j), 403);
	assert_detail(j, "permission_denied", "You cannot vote on your own project.");
	json_decref(j);
	/* Bad values. */
	ck_assert_int_eq(vote(&bob, id, "sideways", &j), 400);
	ck_assert_str_eq(first_error(j, "value"), "\"sideways\" is not a valid choice.");
	json_decref(j);
	ck_assert_int_eq(call("POST", path, &bob, json_pack("{s:s}", "body", "no value"), &j), 400);
	ck_assert_str_eq(first_error(j, "value"), "This field is required.");
	json_decref(j);
	ck_assert_int_eq(call("POST", path, &bob, json_pack("{s:n,s:n}", "value", "body"), &j),
			 400);
	ck_assert_str_eq(first_error(j, "value"), "This field may not be null.");
	ck_assert_str_eq(first_error(j, "body"), "This field may not be null.");
	json_decref(j);
	ck_assert_int_eq(vote(&bob, id, "UP", &j), 400);
	json_decref(j);
	/* Anonymous; an unknown project. */
	ck_assert_int_eq(vote(NULL, id, "up", &j), 401);
	assert_detail(j, "not_authenticated", "Authentication credentials were not provided.");
	json_decref(j);
	ck_assert_int_eq(vote(&bob, NO_SUCH_ID, "up", &j), 404);
	json_decref(j);
	/* Where the project is missing or the voter's own, that is said before a bad body. */
	ck_assert_int_eq(vote(&bob, NO_SUCH_ID, "sideways", &j), 404);
	json_decref(j);
	ck_assert_int_eq(vote(&alice, id, "sideways", &j), 403);
	json_decref(j);
	ck_assert_int_eq(call("POST", path, &alice, json_pack("[s]", "up"), &j), 403);
	json_decref(j);
	ck_assert_int_eq(call("POST", path, &bob, json_pack("[s]", "up"), &j), 400);
	ck_assert_ptr_nonnull(json_object_get(j, "non_field_errors"));
	json_decref(j);
	/* A vote and the project's new state: one wait on PostgreSQL after the access check's. */
	unsigned long trips = db_pool_round_trip_count(ts.app.pool);
	ck_assert_int_eq(vote(&bob, id, "up", &j), 200);
	ck_assert_uint_le(db_pool_round_trip_count(ts.app.pool) - trips, 1 + 1 + 1);
	json_decref(j);
	ck_assert_int_eq(project_get(id, &j), 200);
	ck_assert_int_eq(num(j, "vote_total"), 3);
	ck_assert_int_eq(num(j, "vote_ratio"), 33);
	json_decref(j);

	/* A project without owner can still be voted on, by anyone. */
	char orphan[37];
	project_new_titled(&alice, "Abandoned prototype", orphan);
	free(test_sql("UPDATE projects SET owner_id = NULL WHERE id = $1", orphan, NULL));
	ck_assert_int_eq(vote(&alice, orphan, "up", &j), 200);
	ck_assert_int_eq(num(j, "vote_total"), 1);
	json_decref(j);
	user_free(&alice);
	user_free(&bob);
	user_free(&carol);
	user_free(&staff);
}
END_TEST

START_TEST(project_tags)
{
	struct member owner;
	struct test_response resp;
	char id[37], path[128], tag_path[256], word[64], upper[64], want[256];
	json_t *j;

	user_new(&owner, "pt");
	unique_word(word, sizeof(word), "ulfius");
	snprintf(upper, sizeof(upper), "%s", word);
	for (char *p = upper; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	project_new_titled(&owner, "Tagged", id);
	project_path(path, sizeof(path), id, "/tags");

	ck_assert_int_eq(
		call_full("POST", path, &owner, json_pack("{s:s}", "name", word), &resp, &j), 201);
	char *location = test_response_header(&resp, "Location");
	snprintf(want, sizeof(want), "%s/api/projects/%s", ts.base, id);
	ck_assert_str_eq(location, want);
	free(location);
	test_response_release(&resp);
	ck_assert_str_eq(str(j, "name"), word);
	ck_assert_int_eq(json_object_size(j), 2);
	char tag_id[37];
	snprintf(tag_id, sizeof(tag_id), "%s", str(j, "id"));
	json_decref(j);

	/* Already there (another case): 201, the same tag. */
	ck_assert_int_eq(call("POST", path, &owner, json_pack("{s:s}", "name", upper), &j), 201);
	ck_assert_str_eq(str(j, "id"), tag_id);
	ck_assert_str_eq(str(j, "name"), word);
	json_decref(j);
	assert_sql("1", "SELECT count(*) FROM project_tags WHERE project_id = $1", id, NULL);

	/* Validation. */
	ck_assert_int_eq(call("POST", path, &owner, json_pack("{s:s}", "name", "  "), &j), 400);
	ck_assert_str_eq(first_error(j, "name"), "This field may not be blank.");
	json_decref(j);
	ck_assert_int_eq(call("POST", path, &owner, json_object(), &j), 400);
	ck_assert_str_eq(first_error(j, "name"), "This field is required.");
	json_decref(j);
	ck_assert_int_eq(call("POST", path, &owner,
			      json_pack("{s:s}", "name",
					"123456789012345678901234567890123456789012345678901"),
			      &j),
			 400);
	ck_assert_str_eq(first_error(j, "name"),
			 "Ensure this field has no more than 50 characters.");
	json_decref(j);

	/* The tag on the project, then off it; a second removal is a 404. */
	ck_assert_int_eq(project_get(id, &j), 200);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "tags"), 0), "id"), tag_id);
	json_decref(j);
	snprintf(tag_path, sizeof(tag_path), "%s/%s/", path, tag_id);
	ck_assert_int_eq(call_full("DELETE", tag_path, &owner, NULL, &resp, &j), 204);
	ck_assert_int_eq(resp.body.len, 0);
	test_response_release(&resp);
	ck_assert_int_eq(call("DELETE", tag_path, &owner, NULL, &j), 404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	snprintf(tag_path, sizeof(tag_path), "%s/%s", path, NO_SUCH_ID);
	ck_assert_int_eq(call("DELETE", tag_path, &owner, NULL, &j), 404);
	json_decref(j);
	snprintf(tag_path, sizeof(tag_path), "%s/not-a-uuid", path);
	ck_assert_int_eq(call("DELETE", tag_path, &owner, NULL, &j), 404);
	json_decref(j);

	/* The tag itself stays, with no project. */
	char tags_query[128];
	snprintf(tags_query, sizeof(tags_query), "/api/tags?search=%s", word);
	ck_assert_int_eq(call("GET", tags_query, NULL, NULL, &j), 200);
	ck_assert_int_eq(num(j, "count"), 1);
	json_t *j_tag = json_array_get(json_object_get(j, "results"), 0);
	ck_assert_str_eq(str(j_tag, "id"), tag_id);
	ck_assert_int_eq(num(j_tag, "project_count"), 0);
	json_decref(j);
	user_free(&owner);
}
END_TEST

/* GET path and the titles of its results, joined; returns count. */
static long list_titles(const char *path, char *titles, size_t size)
{
	json_t *j;
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	long count = num(j, "count");
	joined(json_object_get(j, "results"), "title", titles, size);
	json_decref(j);
	return count;
}

START_TEST(search_semantics)
{
	struct member owner, named;
	char word[64], upper[64], title[128], tag[96], tag2[96], path[256], titles[1024];
	char id[37];

	user_new(&owner, "so");
	user_new(&named, "sn");
	unique_word(word, sizeof(word), "srch");
	snprintf(upper, sizeof(upper), "%s", word);
	for (char *p = upper; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);

	/* By title and by two tags: once. */
	snprintf(title, sizeof(title), "A %s title", word);
	snprintf(tag, sizeof(tag), "x%s", word);
	snprintf(tag2, sizeof(tag2), "%sy", word);
	project_new(&owner, json_pack("{s:s,s:[s,s]}", "title", title, "tags", tag, tag2), id);
	/* By description. */
	char description[128];
	snprintf(description, sizeof(description), "Its text mentions %s.", upper);
	project_new(&owner,
		    json_pack("{s:s,s:s}", "title", "B by description", "description", description),
		    id);
	/* By its owner's name. */
	char name[128];
	snprintf(name, sizeof(name), "Named %s", word);
	free(test_sql("UPDATE profiles SET name = $1 WHERE id = $2", name, named.a.profile_id));
	project_new_titled(&named, "C by owner", id);
	/* By one tag. */
	char tag3[96];
	snprintf(tag3, sizeof(tag3), "z%sz", upper);
	project_new(&owner, json_pack("{s:s,s:[s]}", "title", "D by tag", "tags", tag3), id);
	/* Not at all. */
	project_new_titled(&owner, "E unrelated", id);

	snprintf(path, sizeof(path), "/api/projects?search=%s", upper);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 4);
	char want[512];
	snprintf(want, sizeof(want), "%s,B by description,C by owner,D by tag", title);
	ck_assert_str_eq(titles, want);
	/* Surrounding spaces are ignored. */
	snprintf(path, sizeof(path), "/api/projects?search=+%s+", word);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 4);

	/* %, _ and \ match themselves only. */
	char t1[128], t2[128];
	snprintf(t1, sizeof(t1), "%s-a%%b", word);
	snprintf(t2, sizeof(t2), "%s-aXYb", word);
	project_new_titled(&owner, t1, id);
	project_new_titled(&owner, t2, id);
	snprintf(t1, sizeof(t1), "%s-c_d", word);
	snprintf(t2, sizeof(t2), "%s-cXd", word);
	project_new_titled(&owner, t1, id);
	project_new_titled(&owner, t2, id);
	snprintf(t1, sizeof(t1), "%s-e\\f", word);
	snprintf(t2, sizeof(t2), "%s-ef", word);
	project_new_titled(&owner, t1, id);
	project_new_titled(&owner, t2, id);
	snprintf(path, sizeof(path), "/api/projects?search=%s-a%%25b", word);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 1);
	snprintf(want, sizeof(want), "%s-a%%b", word);
	ck_assert_str_eq(titles, want);
	snprintf(path, sizeof(path), "/api/projects?search=%s-c_d", word);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 1);
	snprintf(want, sizeof(want), "%s-c_d", word);
	ck_assert_str_eq(titles, want);
	snprintf(path, sizeof(path), "/api/projects?search=%s-e%%5Cf", word);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 1);
	snprintf(path, sizeof(path), "/api/projects?search=%s-a%%25", word);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 1);
	user_free(&owner);
	user_free(&named);
}
END_TEST

START_TEST(tag_and_owner_filters)
{
	struct member alice, bob;
	char word[64], upper[64], longer[80], path[256], titles[1024], id[37];
	json_t *j;

	user_new(&alice, "fa");
	user_new(&bob, "fb");
	unique_word(word, sizeof(word), "flt");
	snprintf(upper, sizeof(upper), "%s", word);
	for (char *p = upper; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	snprintf(longer, sizeof(longer), "%sx", word);
	project_new(&alice, json_pack("{s:s,s:[s]}", "title", "Alice tagged", "tags", word), id);
	project_new(&bob, json_pack("{s:s,s:[s]}", "title", "Bob tagged", "tags", word), id);
	project_new(&bob, json_pack("{s:s,s:[s]}", "title", "Bob other", "tags", longer), id);

	/* Exact name, case-insensitively: not the longer one. */
	snprintf(path, sizeof(path), "/api/projects?tag=%s", upper);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 2);
	ck_assert_str_eq(titles, "Alice tagged,Bob tagged");
	snprintf(path, sizeof(path), "/api/projects?tag=%s&owner=%s", word, bob.a.profile_id);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 1);
	ck_assert_str_eq(titles, "Bob tagged");
	snprintf(path, sizeof(path), "/api/projects?owner=%s", bob.a.profile_id);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 2);
	ck_assert_str_eq(titles, "Bob other,Bob tagged");
	snprintf(path, sizeof(path), "/api/projects?owner=%s&search=%s&tag=%s", bob.a.profile_id,
		 word, longer);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 1);
	ck_assert_str_eq(titles, "Bob other");
	snprintf(path, sizeof(path), "/api/projects?search=other&owner=%s", bob.a.profile_id);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 1);

	/* The owner as Python's UUID() reads it: upper case, no hyphens, braces. */
	char loose[64];
	size_t n = 0;
	loose[n++] = '{';
	for (const char *p = bob.a.profile_id; *p; p++)
		if (*p != '-')
			loose[n++] = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
	loose[n++] = '}';
	loose[n] = '\0';
	snprintf(path, sizeof(path), "/api/projects?owner=%s", loose);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 2);
	snprintf(path, sizeof(path), "/api/projects?owner=%s", NO_SUCH_ID);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 0);
	ck_assert_int_eq(call("GET", "/api/projects?owner=bob", NULL, NULL, &j), 400);
	ck_assert_str_eq(first_error(j, "owner"), "Must be a valid UUID.");
	ck_assert_int_eq(json_object_size(j), 1);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/projects?owner=%sa", bob.a.profile_id);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 400);
	json_decref(j);
	/* An empty filter is no filter. */
	snprintf(path, sizeof(path), "/api/projects?owner=%s&tag=&search=+", bob.a.profile_id);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 2);
	user_free(&alice);
	user_free(&bob);
}
END_TEST

START_TEST(order_and_pagination)
{
	struct member owner, v1, v2;
	char path[256], titles[1024], p[5][37];
	json_t *j;

	user_new(&owner, "pg");
	user_new(&v1, "pgv");
	user_new(&v2, "pgw");
	/* -vote_ratio, -vote_total, title. */
	project_new_titled(&owner, "B none", p[0]);
	project_new_titled(&owner, "A none", p[1]);
	project_new_titled(&owner, "Z one up", p[2]);
	project_new_titled(&owner, "Y two up", p[3]);
	project_new_titled(&owner, "X half", p[4]);
	const char *votes[][3] = {{p[2], "up", NULL}, {p[3], "up", "up"}, {p[4], "up", "down"}};
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(vote(&v1, votes[i][0], votes[i][1], &j), 200);
		json_decref(j);
		if (votes[i][2]) {
			ck_assert_int_eq(vote(&v2, votes[i][0], votes[i][2], &j), 200);
			json_decref(j);
		}
	}
	snprintf(path, sizeof(path), "/api/projects?owner=%s", owner.a.profile_id);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 5);
	ck_assert_str_eq(titles, "Y two up,Z one up,X half,A none,B none");

	/* Pages of 2: count, next, previous (page 1 has no page parameter). */
	char want[512];
	snprintf(path, sizeof(path), "/api/projects?page_size=2&owner=%s", owner.a.profile_id);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	ck_assert_int_eq(num(j, "count"), 5);
	snprintf(want, sizeof(want), "%s/api/projects?owner=%s&page=2&page_size=2", ts.base,
		 owner.a.profile_id);
	ck_assert_str_eq(str(j, "next"), want);
	ck_assert(json_is_null(json_object_get(j, "previous")));
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 2);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/projects?page=2&page_size=2&owner=%s",
		 owner.a.profile_id);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	joined(json_object_get(j, "results"), "title", titles, sizeof(titles));
	ck_assert_str_eq(titles, "X half,A none");
	snprintf(want, sizeof(want), "%s/api/projects?owner=%s&page_size=2", ts.base,
		 owner.a.profile_id);
	ck_assert_str_eq(str(j, "previous"), want);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/projects?page=3&page_size=2&owner=%s",
		 owner.a.profile_id);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	ck_assert(json_is_null(json_object_get(j, "next")));
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 1);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/projects?page=4&page_size=2&owner=%s",
		 owner.a.profile_id);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/projects?page=abc", NULL, NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);

	/* At most 100 a page. */
	free(test_sql("INSERT INTO projects (owner_id, title) "
		      "SELECT $1, 'Paged ' || g FROM generate_series(1, 120) g",
		      owner.a.profile_id, NULL));
	snprintf(path, sizeof(path), "/api/projects?page_size=1000&owner=%s", owner.a.profile_id);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	ck_assert_int_eq(num(j, "count"), 125);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 100);
	ck_assert_ptr_nonnull(str(j, "next"));
	json_decref(j);
	user_free(&owner);
	user_free(&v1);
	user_free(&v2);
}
END_TEST

/* Statements the server ran for GET path (as u: one more for the token check). */
static unsigned long statements_for(const char *path, const struct member *u, long *count)
{
	json_t *j;
	unsigned long before = db_pool_statement_count(ts.app.pool);
	ck_assert_int_eq(call("GET", path, u, NULL, &j), 200);
	unsigned long after = db_pool_statement_count(ts.app.pool);
	*count = (long)json_array_size(json_object_get(j, "results"));
	json_decref(j);
	return after - before;
}

/*
 * Waits on PostgreSQL for one GET of path: the fewest over three calls, as a
 * connection of the pool that has not yet prepared a statement adds one.
 */
static unsigned long round_trips_for(const char *path, const struct member *u)
{
	unsigned long fewest = (unsigned long)-1;
	for (int i = 0; i < 3; i++) {
		json_t *j;
		unsigned long before = db_pool_round_trip_count(ts.app.pool);
		ck_assert_int_eq(call("GET", path, u, NULL, &j), 200);
		unsigned long trips = db_pool_round_trip_count(ts.app.pool) - before;
		json_decref(j);
		if (trips < fewest)
			fewest = trips;
	}
	return fewest;
}

START_TEST(lists_run_a_fixed_number_of_statements)
{
	struct member owner, voters[3];
	char word[64], path[256], id[37];
	long rows;

	user_new(&owner, "nq");
	for (int i = 0; i < 3; i++)
		user_new(&voters[i], "nqv");
	unique_word(word, sizeof(word), "nq");
	for (int i = 0; i < 12; i++) {
		char title[32], t1[96], t2[96];
		json_t *j;
		snprintf(title, sizeof(title), "Project %02d", i);
		snprintf(t1, sizeof(t1), "%s-%d", word, i);
		snprintf(t2, sizeof(t2), "%s-common", word);
		project_new(&owner, json_pack("{s:s,s:[s,s]}", "title", title, "tags", t1, t2), id);
		for (int v = 0; v < 3; v++) {
			ck_assert_int_eq(vote(&voters[v], id, v ? "up" : "down", &j), 200);
			json_decref(j);
		}
	}
	snprintf(path, sizeof(path), "/api/projects?owner=%s&page_size=1", owner.a.profile_id);
	unsigned long one = statements_for(path, NULL, &rows);
	ck_assert_int_eq(rows, 1);
	snprintf(path, sizeof(path), "/api/projects?owner=%s&page_size=100", owner.a.profile_id);
	unsigned long hundred = statements_for(path, NULL, &rows);
	ck_assert_int_eq(rows, 12);
	ck_assert_uint_eq(one, hundred);
	ck_assert_uint_eq(one, 3); /* the page, its tags, its reviews */
	snprintf(path, sizeof(path), "/api/projects?search=%s&page_size=100", word);
	ck_assert_uint_eq(statements_for(path, &owner, &rows), 4); /* + the token check */
	ck_assert_int_eq(rows, 12);

	snprintf(path, sizeof(path), "/api/tags?search=%s&page_size=1", word);
	one = statements_for(path, NULL, &rows);
	ck_assert_int_eq(rows, 1);
	snprintf(path, sizeof(path), "/api/tags?search=%s&page_size=100", word);
	hundred = statements_for(path, NULL, &rows);
	ck_assert_int_eq(rows, 13);
	ck_assert_uint_eq(one, hundred);
	ck_assert_uint_eq(one, 1);
	/* One project's detail: the project, its tags, its reviews. */
	project_path(path, sizeof(path), id, NULL);
	ck_assert_uint_eq(statements_for(path, NULL, &rows), 3);

	/*
	 * Independent statements travel together. Signed in (no response cache),
	 * after the access check's one wait: one more for a project with its tags
	 * and reviews, two for a page (the rows, then their relations), one for a
	 * profile and its three relations, which is also all users/me needs.
	 */
	ck_assert_uint_eq(round_trips_for(path, &owner), 1 + 1);
	snprintf(path, sizeof(path), "/api/projects?owner=%s&page_size=100", owner.a.profile_id);
	ck_assert_uint_eq(round_trips_for(path, &owner), 1 + 2);
	snprintf(path, sizeof(path), "/api/profiles/%s", owner.a.profile_id);
	ck_assert_uint_eq(round_trips_for(path, &owner), 1 + 1);
	ck_assert_uint_eq(round_trips_for("/api/users/me", &owner), 1 + 1);
	user_free(&owner);
	for (int i = 0; i < 3; i++)
		user_free(&voters[i]);
}
END_TEST

START_TEST(tag_list_endpoint)
{
	struct member owner;
	char word[64], path[256], names[1024], want[1024], id[37], t[4][96];
	json_t *j;

	user_new(&owner, "tl");
	unique_word(word, sizeof(word), "tl");
	snprintf(t[0], sizeof(t[0]), "B%s", word);
	snprintf(t[1], sizeof(t[1]), "a%s", word);
	snprintf(t[2], sizeof(t[2]), "C%s_x", word);
	snprintf(t[3], sizeof(t[3]), "C%sYx", word);
	project_new(&owner, json_pack("{s:s,s:[s,s]}", "title", "One", "tags", t[0], t[1]), id);
	project_new(&owner, json_pack("{s:s,s:[s,s]}", "title", "Two", "tags", t[0], t[2]), id);
	project_new(&owner, json_pack("{s:s,s:[s]}", "title", "Three", "tags", t[3]), id);

	/* Ordered by name (the database's collation), with project counts. */
	snprintf(path, sizeof(path), "/api/tags?search=%s", word);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	ck_assert_int_eq(num(j, "count"), 4);
	json_t *j_results = json_object_get(j, "results");
	char *order = test_sql("SELECT string_agg(name, ',' ORDER BY name, id) FROM tags "
			       "WHERE name LIKE '%' || $1 || '%'",
			       word, NULL);
	joined(j_results, "name", names, sizeof(names));
	ck_assert_str_eq(names, order);
	free(order);
	size_t i;
	json_t *j_tag;
	json_array_foreach(j_results, i, j_tag)
	{
		ck_assert_int_eq(json_object_size(j_tag), 3);
		ck_assert_int_eq(num(j_tag, "project_count"),
				 !strcmp(str(j_tag, "name"), t[0]) ? 2 : 1);
	}
	json_decref(j);
	/* Case-insensitive; _ matches only itself. */
	char upper[64];
	snprintf(upper, sizeof(upper), "%s", word);
	for (char *p = upper; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	snprintf(path, sizeof(path), "/api/tags?search=%s_", upper);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	joined(json_object_get(j, "results"), "name", names, sizeof(names));
	ck_assert_str_eq(names, t[2]);
	json_decref(j);
	/* Pages. */
	snprintf(path, sizeof(path), "/api/tags?search=%s&page_size=3&page=2", word);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	ck_assert_int_eq(num(j, "count"), 4);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 1);
	ck_assert(json_is_null(json_object_get(j, "next")));
	snprintf(want, sizeof(want), "%s/api/tags?page_size=3&search=%s", ts.base, word);
	ck_assert_str_eq(str(j, "previous"), want);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/tags?search=%s&page_size=3&page=3", word);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);
	/* Nothing found is an empty first page. */
	snprintf(path, sizeof(path), "/api/tags?search=%s-none", word);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 200);
	ck_assert_int_eq(num(j, "count"), 0);
	json_decref(j);
	user_free(&owner);
}
END_TEST

/* Does the JSON plan node j_plan (or any below it) scan relation sequentially? */
static int has_seq_scan(const json_t *j_plan, const char *relation)
{
	const char *type = str(j_plan, "Node Type");
	const char *rel = str(j_plan, "Relation Name");
	if (type && rel && !strcmp(type, "Seq Scan") && !strcmp(rel, relation))
		return 1;
	size_t i;
	json_t *j_child;
	json_array_foreach(json_object_get(j_plan, "Plans"), i, j_child)
	{
		if (has_seq_scan(j_child, relation))
			return 1;
	}
	return 0;
}

/*
 * EXPLAIN of the prepared list statement with fixed arguments: a search that
 * matches one bulk project ("<word> project 1234 <md5>"), and a tag name.
 */
static const char EXPLAIN_SEARCH[] =
	"EXPLAIN (FORMAT JSON) EXECUTE project_list('%project 1234 %', 20, 0)";
static const char EXPLAIN_SEARCH_TAG[] =
	"EXPLAIN (FORMAT JSON) EXECUTE project_list('%project 1234 %', 'no such tag', 20, 0)";
static const char EXPLAIN_TAG[] = "EXPLAIN (FORMAT JSON) EXECUTE project_list('python', 20, 0)";

static void exec_ok(PGconn *conn, PGresult *res)
{
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
			      PQresultStatus(res) == PGRES_TUPLES_OK,
		      "%s", PQerrorMessage(conn));
}

/*
 * The plan of the server's list statement for filter bits, as the pool's
 * prepared statement gets it: a custom plan (its first executions) or the
 * generic one (which PostgreSQL may switch to later). New reference.
 */
static json_t *list_plan(unsigned bits, const char *explain, int generic)
{
	PGconn *conn = PQconnectdb(test_env("DATABASE_URL"));
	ck_assert_int_eq(PQstatus(conn), CONNECTION_OK);
	PGresult *res = PQexec(conn, generic ? "SET plan_cache_mode = force_generic_plan"
					     : "SET plan_cache_mode = force_custom_plan");
	exec_ok(conn, res);
	PQclear(res);
	res = PQprepare(conn, "project_list", project_list_sql(bits), 0, NULL);
	exec_ok(conn, res);
	PQclear(res);
	res = PQexec(conn, explain);
	exec_ok(conn, res);
	json_t *j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	ck_assert_ptr_nonnull(j);
	PQclear(res);
	PQfinish(conn);
	return j;
}

/* Fail if the plan j (EXPLAIN's JSON) scans projects sequentially. */
static void assert_no_seq_scan(json_t *j, const char *what, int generic)
{
	char *text = NULL;
	if (has_seq_scan(json_object_get(json_array_get(j, 0), "Plan"), "projects"))
		text = json_dumps(j, JSON_COMPACT);
	/* Check's messages are short: the start of the plan shows the scan. */
	ck_assert_msg(text == NULL, "%s (%s plan) scans projects: %.3000s", what,
		      generic ? "generic" : "custom", text);
	json_decref(j);
}

START_TEST(search_plan_uses_the_indexes)
{
	char word[64];

	unique_word(word, sizeof(word), "bulk");
	/* A few thousand projects of 300 owners, with tags; then fresh statistics. */
	free(test_sql("WITH nu AS (INSERT INTO users (username, email, password) "
		      "SELECT $1 || g, $1 || g || '@example.com', '!' "
		      "FROM generate_series(1, 300) g RETURNING id, username), "
		      "np AS (INSERT INTO profiles (user_id, name) "
		      "SELECT id, 'Owner ' || username FROM nu RETURNING id), "
		      "op AS (SELECT id, row_number() OVER () AS k FROM np) "
		      "INSERT INTO projects (owner_id, title, description) "
		      "SELECT op.id, $1 || ' project ' || g || ' ' || md5(g::text), "
		      "'Generated ' || md5((g * 7)::text) "
		      "FROM generate_series(1, 4000) g JOIN op ON op.k = 1 + g % 300",
		      word, NULL));
	free(test_sql("INSERT INTO tags (name) SELECT $1 || '-tag-' || g "
		      "FROM generate_series(1, 400) g",
		      word, NULL));
	free(test_sql("INSERT INTO project_tags (project_id, tag_id) "
		      "SELECT p.id, t.id FROM projects p JOIN tags t "
		      "ON t.name = $1 || '-tag-' || (1 + abs(hashtext(p.title)) % 400) "
		      "WHERE p.title LIKE $1 || ' project %'",
		      word, NULL));
	free(test_sql("ANALYZE", NULL, NULL));

	for (int generic = 0; generic < 2; generic++) {
		assert_no_seq_scan(list_plan(PROJECT_BY_SEARCH, EXPLAIN_SEARCH, generic), "search",
				   generic);
		assert_no_seq_scan(
			list_plan(PROJECT_BY_SEARCH | PROJECT_BY_TAG, EXPLAIN_SEARCH_TAG, generic),
			"search and tag", generic);
		assert_no_seq_scan(list_plan(PROJECT_BY_TAG, EXPLAIN_TAG, generic), "tag", generic);
	}

	/* And the search finds what it should through the API. */
	char path[256], titles[1024];
	snprintf(path, sizeof(path), "/api/projects?search=%s+project+1234+", word);
	ck_assert_int_eq(list_titles(path, titles, sizeof(titles)), 1);

	/* Leave the shared database as it was. */
	free(test_sql("DELETE FROM projects WHERE title LIKE $1 || ' project %'", word, NULL));
	free(test_sql("DELETE FROM tags WHERE name LIKE $1 || '-tag-%'", word, NULL));
	free(test_sql("DELETE FROM users WHERE username LIKE $1 || '%'", word, NULL));
	free(test_sql("ANALYZE", NULL, NULL));
}
END_TEST

struct vote_job {
	const char *token;
	const char *url;
	const char *value;
	pthread_barrier_t *start;
	long status;
};

static void *vote_thread(void *arg)
{
	struct vote_job *job = arg;
	char auth[4096], body[64];
	struct test_response resp;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", job->token);
	const char *headers[] = {auth, "Content-Type: application/json", NULL};
	snprintf(body, sizeof(body), "{\"value\": \"%s\"}", job->value);
	pthread_barrier_wait(job->start);
	job->status = test_http("POST", job->url, headers, body, strlen(body), &resp) == 0
			      ? resp.status
			      : -1;
	test_response_release(&resp);
	return NULL;
}

#define VOTERS 20

/* Every voter votes at once: values[i] for voter i. */
static void vote_all_at_once(struct member *voters, const char *url, const char *const *values)
{
	struct vote_job jobs[VOTERS];
	pthread_t threads[VOTERS];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, VOTERS);
	for (int i = 0; i < VOTERS; i++) {
		jobs[i] = (struct vote_job){voters[i].access, url, values[i], &start, 0};
		pthread_create(&threads[i], NULL, vote_thread, &jobs[i]);
	}
	for (int i = 0; i < VOTERS; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_int_eq(jobs[i].status, 200);
	}
	pthread_barrier_destroy(&start);
}

START_TEST(concurrent_votes_are_all_counted)
{
	struct member owner, voters[VOTERS];
	const char *values[VOTERS];
	char id[37], url[256];
	json_t *j;

	user_new(&owner, "cv");
	for (int i = 0; i < VOTERS; i++)
		user_new(&voters[i], "cvv");
	project_new_titled(&owner, "Popular", id);
	snprintf(url, sizeof(url), "%s/api/projects/%s/vote", ts.base, id);

	/* 13 up, 7 down: 65%. */
	for (int i = 0; i < VOTERS; i++)
		values[i] = i < 13 ? "up" : "down";
	vote_all_at_once(voters, url, values);
	ck_assert_int_eq(project_get(id, &j), 200);
	ck_assert_int_eq(num(j, "vote_total"), 20);
	ck_assert_int_eq(num(j, "vote_ratio"), 65);
	ck_assert_int_eq(json_array_size(json_object_get(j, "reviews")), 20);
	json_decref(j);

	/* Everyone changes their mind at once: 7 up, 13 down, still 20 reviews: 35%. */
	for (int i = 0; i < VOTERS; i++)
		values[i] = i < 13 ? "down" : "up";
	vote_all_at_once(voters, url, values);
	ck_assert_int_eq(project_get(id, &j), 200);
	ck_assert_int_eq(num(j, "vote_total"), 20);
	ck_assert_int_eq(num(j, "vote_ratio"), 35);
	json_decref(j);
	assert_sql("20|7",
		   "SELECT count(*) || '|' || count(*) FILTER (WHERE value = 'up') FROM reviews "
		   "WHERE project_id = $1",
		   id, NULL);
	assert_sql("20|7", "SELECT vote_total || '|' || vote_up FROM projects WHERE id = $1", id,
		   NULL);
	user_free(&owner);
	for (int i = 0; i < VOTERS; i++)
		user_free(&voters[i]);
}
END_TEST

struct create_job {
	const char *token;
	const char *url;
	char body[512];
	pthread_barrier_t *start;
	long status;
};

static void *create_thread(void *arg)
{
	struct create_job *job = arg;
	char auth[4096];
	struct test_response resp;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", job->token);
	const char *headers[] = {auth, "Content-Type: application/json", NULL};
	pthread_barrier_wait(job->start);
	job->status = test_http("POST", job->url, headers, job->body, strlen(job->body), &resp) == 0
			      ? resp.status
			      : -1;
	test_response_release(&resp);
	return NULL;
}

START_TEST(concurrent_tag_creation_makes_one_tag_per_name)
{
	enum { WRITERS = 8 };
	struct member u;
	struct create_job jobs[WRITERS];
	pthread_t threads[WRITERS];
	pthread_barrier_t start;
	char word[64], url[256];

	user_new(&u, "ct");
	unique_word(word, sizeof(word), "race");
	snprintf(url, sizeof(url), "%s/api/projects", ts.base);
	pthread_barrier_init(&start, NULL, WRITERS);
	for (int i = 0; i < WRITERS; i++) {
		jobs[i] = (struct create_job){u.access, url, "", &start, 0};
		/* The same new names, in different orders and cases. */
		if (i % 2)
			snprintf(jobs[i].body, sizeof(jobs[i].body),
				 "{\"title\": \"Race %d\", \"tags\": [\"%s-a\", \"%s-B\", "
				 "\"%s-c\"]}",
				 i, word, word, word);
		else
			snprintf(jobs[i].body, sizeof(jobs[i].body),
				 "{\"title\": \"Race %d\", \"tags\": [\"%s-C\", \"%s-b\", "
				 "\"%s-A\"]}",
				 i, word, word, word);
		pthread_create(&threads[i], NULL, create_thread, &jobs[i]);
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_int_eq(jobs[i].status, 201);
	}
	pthread_barrier_destroy(&start);
	assert_sql("3", "SELECT count(*) FROM tags WHERE name ILIKE $1 || '-_'", word, NULL);
	assert_sql("24",
		   "SELECT count(*) FROM project_tags pt JOIN projects p ON p.id = pt.project_id "
		   "WHERE p.owner_id = $1",
		   u.a.profile_id, NULL);
	user_free(&u);
}
END_TEST

Suite *projects_suite(void)
{
	Suite *s = suite_create("projects");
	TCase *tc = tcase_create("projects");
	tcase_add_checked_fixture(tc, projects_up, projects_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, create_and_read);
	tcase_add_test(tc, create_validation);
	tcase_add_test(tc, put_and_patch);
	tcase_add_test(tc, permission_matrix);
	tcase_add_test(tc, delete_takes_reviews_and_tag_links);
	tcase_add_test(tc, voting);
	tcase_add_test(tc, project_tags);
	tcase_add_test(tc, search_semantics);
	tcase_add_test(tc, tag_and_owner_filters);
	tcase_add_test(tc, order_and_pagination);
	tcase_add_test(tc, lists_run_a_fixed_number_of_statements);
	tcase_add_test(tc, tag_list_endpoint);
	tcase_add_test(tc, search_plan_uses_the_indexes);
	tcase_add_test(tc, concurrent_votes_are_all_counted);
	tcase_add_test(tc, concurrent_tag_creation_makes_one_tag_per_name);
	suite_add_tcase(s, tc);
	return s;
}
