/*
 * Profiles, account, skills and friends over HTTP against the real server and
 * database: every endpoint's success path, the permission matrix (anonymous,
 * someone else, owner, staff), each validation rule, search and pagination,
 * a fixed number of statements per list, index use of the search, and what
 * an account deletion takes with it.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/db.h"
#include "models/profile.h"
#include "support.h"

static struct test_server ts;

static void profiles_up(void)
{
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
	test_server_start(&ts, NULL, 0);
}

static void profiles_down(void)
{
	test_server_stop(&ts);
}

/* A registered, logged-in user. */
struct who {
	struct test_account a;
	char *access;
};

static void who_make(struct who *w, const char *prefix)
{
	char *refresh = NULL;
	test_register(&ts, &w->a, prefix);
	ck_assert_int_eq(test_login(&ts, w->a.username, TEST_PASSWORD, &w->access, &refresh), 200);
	free(refresh);
}

/* A staff user: made staff in SQL before logging in. */
static void who_make_staff(struct who *w, const char *prefix)
{
	char *refresh = NULL;
	test_register(&ts, &w->a, prefix);
	free(test_sql("UPDATE users SET is_staff = true WHERE id = $1", w->a.user_id, NULL));
	ck_assert_int_eq(test_login(&ts, w->a.username, TEST_PASSWORD, &w->access, &refresh), 200);
	free(refresh);
}

static void who_free(struct who *w)
{
	free(w->access);
	w->access = NULL;
}

/* method path as w (NULL: anonymous) with j_body (stolen, may be NULL); *j the answer. */
static long req(const struct who *w, const char *method, const char *path, json_t *j_body,
		json_t **j)
{
	return test_send(&ts, method, path, w ? test_bearer(w->access) : NULL, j_body, j);
}

/* The same, keeping the response (headers) in *resp; release it. */
static long req_full(const struct who *w, const char *method, const char *path, json_t *j_body,
		     struct test_response *resp, json_t **j)
{
	char *text = j_body ? json_dumps(j_body, JSON_COMPACT) : NULL;
	json_decref(j_body);
	long status =
		test_call(&ts, method, path, w ? test_bearer(w->access) : TEST_JSON, text, resp, j);
	free(text);
	return status;
}

static const char *str(const json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* Assert that j[field] is exactly [message]. */
static void assert_error(const json_t *j, const char *field, const char *message)
{
	json_t *j_list = json_object_get(j, field);
	ck_assert_msg(json_is_array(j_list), "no error on %s", field);
	ck_assert_int_eq(json_array_size(j_list), 1);
	ck_assert_str_eq(json_string_value(json_array_get(j_list, 0)), message);
}

static void assert_detail(const json_t *j, const char *code, const char *detail)
{
	ck_assert_str_eq(str(j, "code"), code);
	ck_assert_str_eq(str(j, "detail"), detail);
}

static void path_of(char *out, size_t size, const char *fmt, const char *id)
{
	snprintf(out, size, fmt, id);
}

/* The first value of sql with p1, p2; "" when NULL. Fails unless it equals want. */
static void assert_sql(const char *want, const char *sql, const char *p1, const char *p2)
{
	char *got = test_sql(sql, p1, p2);
	ck_assert_msg(!strcmp(got ? got : "(null)", want), "%s: got %s, want %s", sql,
		      got ? got : "(null)", want);
	free(got);
}

static const char *const PROFILE_KEYS[] = {
	"id",
	"username",
	"name",
	"location",
	"short_intro",
	"bio",
	"profile_image",
	"social_github",
	"social_twitter",
	"social_linkedin",
	"social_youtube",
	"social_website",
	"birth_date",
	"is_active",
	"created",
	"skills",
	"projects",
	"friends",
	"favorite_note",
	NULL,
};

static void assert_profile_shape(const json_t *j, int with_email)
{
	for (size_t i = 0; PROFILE_KEYS[i]; i++)
		ck_assert_msg(json_object_get(j, PROFILE_KEYS[i]) != NULL, "no %s",
			      PROFILE_KEYS[i]);
	ck_assert_int_eq(json_object_get(j, "email") != NULL, with_email);
	ck_assert_int_eq(json_object_size(j), with_email ? 20 : 19);
}

START_TEST(profile_detail_shows_email_only_to_its_owner)
{
	struct who alice, bob;
	char path[128];
	json_t *j;
	who_make(&alice, "pda");
	who_make(&bob, "pdb");
	path_of(path, sizeof(path), "/api/profiles/%s", alice.a.profile_id);

	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	assert_profile_shape(j, 0);
	ck_assert_str_eq(str(j, "id"), alice.a.profile_id);
	ck_assert_str_eq(str(j, "username"), alice.a.username);
	ck_assert_str_eq(str(j, "location"), "");
	ck_assert(json_is_null(json_object_get(j, "birth_date")));
	ck_assert(json_is_true(json_object_get(j, "is_active")));
	ck_assert(json_is_null(json_object_get(j, "favorite_note")));
	ck_assert_int_eq(json_array_size(json_object_get(j, "skills")), 0);
	json_decref(j);

	ck_assert_int_eq(req(&bob, "GET", path, NULL, &j), 200);
	assert_profile_shape(j, 0);
	json_decref(j);

	ck_assert_int_eq(req(&alice, "GET", path, NULL, &j), 200);
	assert_profile_shape(j, 1);
	ck_assert_str_eq(str(j, "email"), alice.a.email);
	json_decref(j);

	/* With a trailing slash, and an unknown or malformed id. */
	strcat(path, "/");
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	json_decref(j);
	ck_assert_int_eq(
		req(NULL, "GET", "/api/profiles/00000000-0000-4000-8000-000000000000", NULL, &j),
		404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	ck_assert_int_eq(req(NULL, "GET", "/api/profiles/nope", NULL, &j), 404);
	json_decref(j);
	who_free(&alice);
	who_free(&bob);
}
END_TEST

START_TEST(account_read_and_update)
{
	struct who alice;
	json_t *j;
	who_make(&alice, "acc");

	ck_assert_int_eq(req(&alice, "GET", "/api/account", NULL, &j), 200);
	assert_profile_shape(j, 1);
	ck_assert_str_eq(str(j, "id"), alice.a.profile_id);
	ck_assert_str_eq(str(j, "email"), alice.a.email);
	json_decref(j);

	/* PATCH some fields: the whole own profile comes back. */
	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account",
		    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "short_intro",
			      "  Backend developer ", "location", "Lyon", "bio",
			      "I port web APIs to C.", "social_github", "https://github.com/alice",
			      "birth_date", "1990-04-01", "name", "Alice Example", "is_active", 0),
		    &j),
		200);
	assert_profile_shape(j, 1);
	ck_assert_str_eq(str(j, "short_intro"), "Backend developer");
	ck_assert_str_eq(str(j, "location"), "Lyon");
	ck_assert_str_eq(str(j, "social_github"), "https://github.com/alice");
	ck_assert_str_eq(str(j, "birth_date"), "1990-04-01");
	ck_assert_str_eq(str(j, "name"), "Alice Example");
	ck_assert(json_is_false(json_object_get(j, "is_active")));
	json_decref(j);

	/* PUT needs name; the fields left out keep their values; read-only ones are ignored. */
	ck_assert_int_eq(
		req(&alice, "PUT", "/api/account", json_pack("{s:s}", "location", "Paris"), &j),
		400);
	assert_error(j, "name", "This field is required.");
	ck_assert_int_eq(json_object_size(j), 1);
	json_decref(j);
	ck_assert_int_eq(req(&alice, "PUT", "/api/account",
			     json_pack("{s:s,s:s,s:s,s:s,s:[]}", "name", "Alice E.", "location",
				       "Paris", "id", "11111111-1111-4111-8111-111111111111",
				       "created", "2000-01-01T00:00:00Z", "skills"),
			     &j),
			 200);
	ck_assert_str_eq(str(j, "id"), alice.a.profile_id);
	ck_assert_str_eq(str(j, "name"), "Alice E.");
	ck_assert_str_eq(str(j, "location"), "Paris");
	ck_assert_str_eq(str(j, "bio"), "I port web APIs to C.");
	ck_assert_str_eq(str(j, "birth_date"), "1990-04-01");
	json_decref(j);

	/* Optional fields may be blank; birth_date may be null. */
	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account",
		    json_pack("{s:s,s:s,s:n}", "social_github", "", "bio", "", "birth_date"), &j),
		200);
	ck_assert_str_eq(str(j, "social_github"), "");
	ck_assert_str_eq(str(j, "bio"), "");
	ck_assert(json_is_null(json_object_get(j, "birth_date")));
	ck_assert_str_eq(str(j, "location"), "Paris");
	json_decref(j);

	/* Anonymous: 401 on every method. */
	static const char *const methods[] = {"GET", "PUT", "PATCH", "DELETE"};
	for (size_t i = 0; i < 4; i++) {
		struct test_response resp;
		ck_assert_int_eq(req_full(NULL, methods[i], "/api/account",
					  json_pack("{s:s}", "name", "x"), &resp, &j),
				 401);
		assert_detail(j, "not_authenticated",
			      "Authentication credentials were not provided.");
		char *www = test_response_header(&resp, "WWW-Authenticate");
		ck_assert_str_eq(www, "Bearer realm=\"api\"");
		free(www);
		test_response_release(&resp);
		json_decref(j);
	}
	who_free(&alice);
}
END_TEST

START_TEST(account_validation)
{
	struct who alice, bob;
	json_t *j;
	char long_url[2100], long_text[260], long_username[160];
	who_make(&alice, "val");
	who_make(&bob, "vbo");

	/* Every error of a body at once, in DRF's words. */
	ck_assert_int_eq(req(&alice, "PATCH", "/api/account",
			     json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "   ", "email", "nope",
				       "social_twitter", "ftp://example.com/x", "birth_date",
				       "2999-01-01", "is_active", "maybe"),
			     &j),
			 400);
	assert_error(j, "name", "This field may not be blank.");
	assert_error(j, "email", "Enter a valid email address.");
	assert_error(j, "social_twitter", "Enter a valid URL.");
	assert_error(j, "birth_date", "Date cannot be in the future.");
	assert_error(j, "is_active", "Must be a valid boolean.");
	ck_assert_int_eq(json_object_size(j), 5);
	json_decref(j);

	/* A field-level error and a database check in one answer. */
	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account",
		    json_pack("{s:s,s:s}", "birth_date", "01/04/1990", "username", bob.a.username),
		    &j),
		400);
	assert_error(j, "username", "A user with that username already exists.");
	assert_error(j, "birth_date",
		     "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.");
	json_decref(j);

	/* Taken case-insensitively: the other user's username and email in capitals. */
	char upper_name[64], upper_email[96];
	snprintf(upper_name, sizeof(upper_name), "%s", bob.a.username);
	snprintf(upper_email, sizeof(upper_email), "%s", bob.a.email);
	for (char *p = upper_name; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	for (char *p = upper_email; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	ck_assert_int_eq(req(&alice, "PATCH", "/api/account",
			     json_pack("{s:s,s:s}", "username", upper_name, "email", upper_email),
			     &j),
			 400);
	assert_error(j, "username", "A user with that username already exists.");
	assert_error(j, "email", "A user with that email already exists.");
	json_decref(j);

	/* Lengths, characters, nulls, NULs, types. */
	memset(long_url, 'a', sizeof(long_url));
	memcpy(long_url, "https://example.com/", 20);
	long_url[2001] = '\0';
	memset(long_text, 'x', sizeof(long_text));
	long_text[201] = '\0';
	memset(long_username, 'u', sizeof(long_username));
	long_username[151] = '\0';
	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account",
		    json_pack("{s:s,s:s,s:s,s:s,s:s#,s:n,s:n,s:[],s:i,s:s}", "profile_image",
			      long_url, "location", long_text, "short_intro", long_text, "username",
			      long_username, "bio", "a\0b", 3, "name", "is_active",
			      "social_website", "social_youtube", 5, "email", ""),
		    &j),
		400);
	assert_error(j, "profile_image", "Ensure this field has no more than 2000 characters.");
	assert_error(j, "location", "Ensure this field has no more than 200 characters.");
	assert_error(j, "short_intro", "Ensure this field has no more than 200 characters.");
	assert_error(j, "username", "Ensure this field has no more than 150 characters.");
	assert_error(j, "bio", "Null characters are not allowed.");
	assert_error(j, "name", "This field may not be null.");
	assert_error(j, "is_active", "This field may not be null.");
	assert_error(j, "social_website", "Not a valid string.");
	assert_error(j, "social_youtube", "Enter a valid URL.");
	assert_error(j, "email", "This field may not be blank.");
	json_decref(j);

	ck_assert_int_eq(req(&alice, "PATCH", "/api/account",
			     json_pack("{s:s,s:s,s:s}", "username", "bad name!", "birth_date",
				       "2001-02-29", "social_linkedin", "linkedin.com/in/x"),
			     &j),
			 400);
	assert_error(j, "username",
		     "Enter a valid username. This value may contain only letters, numbers, and "
		     "@/./+/-/_ characters.");
	assert_error(j, "birth_date",
		     "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.");
	assert_error(j, "social_linkedin", "Enter a valid URL.");
	json_decref(j);

	/* Nothing of the failed requests was written. */
	ck_assert_int_eq(req(&alice, "GET", "/api/account", NULL, &j), 200);
	ck_assert_str_eq(str(j, "username"), alice.a.username);
	ck_assert_str_eq(str(j, "email"), alice.a.email);
	ck_assert_str_eq(str(j, "location"), "");
	json_decref(j);

	/* A body that is not an object; a non-JSON type; invalid JSON. */
	struct test_response resp;
	char header[4096];
	snprintf(header, sizeof(header), "Authorization: Bearer %s", alice.access);
	const char *auth_json[] = {header, "Content-Type: application/json", NULL};
	const char *auth_text[] = {header, "Content-Type: text/plain", NULL};
	ck_assert_int_eq(test_call(&ts, "PATCH", "/api/account", auth_json, "[1]", &resp, &j), 400);
	assert_error(j, "non_field_errors", "Invalid data. Expected a dictionary, but got list.");
	json_decref(j);
	test_response_release(&resp);
	ck_assert_int_eq(test_call(&ts, "PATCH", "/api/account", auth_text, "x", &resp, &j), 415);
	json_decref(j);
	test_response_release(&resp);
	ck_assert_int_eq(test_call(&ts, "PATCH", "/api/account", auth_json, "{", &resp, &j), 400);
	ck_assert_str_eq(str(j, "code"), "parse_error");
	json_decref(j);
	test_response_release(&resp);
	who_free(&alice);
	who_free(&bob);
}
END_TEST

START_TEST(birth_date_today_is_allowed)
{
	struct who alice;
	json_t *j;
	who_make(&alice, "bday");
	char *today =
		test_sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')", NULL, NULL);
	char *tomorrow = test_sql(
		"SELECT to_char((now() AT TIME ZONE 'UTC') + interval '1 day', 'YYYY-MM-DD')", NULL,
		NULL);
	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account", json_pack("{s:s}", "birth_date", today), &j),
		200);
	ck_assert_str_eq(str(j, "birth_date"), today);
	json_decref(j);
	ck_assert_int_eq(req(&alice, "PATCH", "/api/account",
			     json_pack("{s:s}", "birth_date", tomorrow), &j),
			 400);
	assert_error(j, "birth_date", "Date cannot be in the future.");
	json_decref(j);
	free(today);
	free(tomorrow);
	who_free(&alice);
}
END_TEST

START_TEST(username_and_email_change_on_the_user)
{
	struct who alice;
	char username[64], email[96], upper[64], *access = NULL, *refresh = NULL;
	json_t *j;
	who_make(&alice, "ren");
	test_unique(username, sizeof(username), "renamed");
	snprintf(email, sizeof(email), "%s@example.org", username);

	ck_assert_int_eq(req(&alice, "PATCH", "/api/account",
			     json_pack("{s:s,s:s}", "username", username, "email", email), &j),
			 200);
	ck_assert_str_eq(str(j, "username"), username);
	ck_assert_str_eq(str(j, "email"), email);
	json_decref(j);
	assert_sql(username, "SELECT username FROM users WHERE id = $1", alice.a.user_id, NULL);
	assert_sql(email, "SELECT email FROM users WHERE id = $1", alice.a.user_id, NULL);
	/* The user logs in with the new username; users/me agrees. */
	ck_assert_int_eq(test_login(&ts, username, TEST_PASSWORD, &access, &refresh), 200);
	ck_assert_int_eq(test_send(&ts, "GET", "/api/users/me", test_bearer(access), NULL, &j),
			 200);
	ck_assert_str_eq(str(j, "username"), username);
	ck_assert_str_eq(str(j, "email"), email);
	json_decref(j);

	/* One's own username in other letter case is not "taken". */
	snprintf(upper, sizeof(upper), "%s", username);
	upper[0] = 'R';
	ck_assert_int_eq(req(&alice, "PATCH", "/api/account",
			     json_pack("{s:s,s:s}", "username", upper, "email", email), &j),
			 200);
	ck_assert_str_eq(str(j, "username"), upper);
	json_decref(j);
	free(access);
	free(refresh);
	who_free(&alice);
}
END_TEST

/* A note of profile_id made in SQL; its id (new string). */
static char *make_note(const char *profile_id, const char *title)
{
	return test_sql("INSERT INTO notes (owner_id, title) VALUES ($1, $2) RETURNING id",
			profile_id, title);
}

START_TEST(favorite_note_rules)
{
	struct who alice, bob;
	char message[160];
	json_t *j;
	who_make(&alice, "fav");
	who_make(&bob, "fab");
	char *note = make_note(alice.a.profile_id, "Mine");
	char *other = make_note(bob.a.profile_id, "Bob's");

	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account", json_pack("{s:s}", "favorite_note", note), &j),
		200);
	ck_assert_str_eq(str(j, "favorite_note"), note);
	json_decref(j);

	/* Someone else's note, an unknown one and a non-UUID do not exist for this profile. */
	const char *missing[] = {other, "00000000-0000-4000-8000-000000000000", "nope"};
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(req(&alice, "PATCH", "/api/account",
				     json_pack("{s:s}", "favorite_note", missing[i]), &j),
				 400);
		snprintf(message, sizeof(message), "Invalid pk \"%s\" - object does not exist.",
			 missing[i]);
		assert_error(j, "favorite_note", message);
		json_decref(j);
	}
	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account", json_pack("{s:i}", "favorite_note", 5), &j),
		400);
	assert_error(j, "favorite_note", "Incorrect type. Expected pk value, received int.");
	json_decref(j);
	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account", json_pack("{s:b}", "favorite_note", 1), &j),
		400);
	assert_error(j, "favorite_note", "Incorrect type. Expected pk value, received bool.");
	json_decref(j);
	assert_sql(note, "SELECT favorite_note_id FROM profiles WHERE id = $1", alice.a.profile_id,
		   NULL);

	/* Deleting the note nulls it; null clears it. */
	free(test_sql("DELETE FROM notes WHERE id = $1", note, NULL));
	ck_assert_int_eq(req(&alice, "GET", "/api/account", NULL, &j), 200);
	ck_assert(json_is_null(json_object_get(j, "favorite_note")));
	json_decref(j);
	char *note2 = make_note(alice.a.profile_id, "Second");
	ck_assert_int_eq(req(&alice, "PATCH", "/api/account",
			     json_pack("{s:s}", "favorite_note", note2), &j),
			 200);
	json_decref(j);
	ck_assert_int_eq(
		req(&alice, "PATCH", "/api/account", json_pack("{s:n}", "favorite_note"), &j), 200);
	ck_assert(json_is_null(json_object_get(j, "favorite_note")));
	json_decref(j);
	free(note);
	free(note2);
	free(other);
	who_free(&alice);
	who_free(&bob);
}
END_TEST

START_TEST(account_deletion_cascades)
{
	struct who erin, alice;
	char path[128];
	json_t *j;
	who_make(&erin, "erin");
	who_make(&alice, "ali");
	const char *e = erin.a.profile_id, *a = alice.a.profile_id;

	char *project = test_sql("INSERT INTO projects (owner_id, title) VALUES ($1, 'Abandoned') "
				 "RETURNING id",
				 e, NULL);
	char *alice_project = test_sql(
		"INSERT INTO projects (owner_id, title) VALUES ($1, 'Kept') RETURNING id", a, NULL);
	char *sent = test_sql("INSERT INTO messages (sender_id, recipient_id, subject, body) "
			      "VALUES ($1, $2, 'Goodbye', 'Leaving') RETURNING id",
			      e, a);
	char *received = test_sql("INSERT INTO messages (sender_id, recipient_id, subject, body) "
				  "VALUES ($2, $1, 'Hello', 'Hi') RETURNING id",
				  e, a);
	char *note = make_note(e, "Private");
	char *skill = test_sql("INSERT INTO skills (owner_id, name) VALUES ($1, 'Go') RETURNING id",
			       e, NULL);
	char *review = test_sql("INSERT INTO reviews (owner_id, project_id, value) "
				"VALUES ($1, $2, 'up') RETURNING id",
				e, alice_project);
	free(test_sql("INSERT INTO friends (profile_id, friend_id) VALUES ($1, $2), ($2, $1)", e,
		      a));
	free(test_sql("UPDATE profiles SET favorite_note_id = $2 WHERE id = $1", e, note));
	assert_sql("1", "SELECT vote_total FROM projects WHERE id = $1", alice_project, NULL);

	struct test_response resp;
	ck_assert_int_eq(req_full(&erin, "DELETE", "/api/account", NULL, &resp, &j), 204);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(resp.body.len, 0);
	test_response_release(&resp);

	assert_sql("0", "SELECT count(*) FROM users WHERE id = $1", erin.a.user_id, NULL);
	assert_sql("0", "SELECT count(*) FROM profiles WHERE id = $1", e, NULL);
	assert_sql("0", "SELECT count(*) FROM skills WHERE id = $1", skill, NULL);
	assert_sql("0", "SELECT count(*) FROM notes WHERE id = $1", note, NULL);
	assert_sql("0", "SELECT count(*) FROM reviews WHERE id = $1", review, NULL);
	assert_sql("0", "SELECT vote_total FROM projects WHERE id = $1", alice_project, NULL);
	assert_sql("0", "SELECT count(*) FROM messages WHERE id = $1", received, NULL);
	assert_sql("1", "SELECT count(*) FROM messages WHERE id = $1 AND sender_id IS NULL", sent,
		   NULL);
	assert_sql("1", "SELECT count(*) FROM projects WHERE id = $1 AND owner_id IS NULL", project,
		   NULL);
	assert_sql("0", "SELECT count(*) FROM friends WHERE profile_id = $1 OR friend_id = $1", e,
		   NULL);
	assert_sql("0", "SELECT count(*) FROM login_sessions WHERE user_id = $1", erin.a.user_id,
		   NULL);
	/* The other side is untouched. */
	assert_sql("1", "SELECT count(*) FROM profiles WHERE id = $1", a, NULL);

	/* The deleted user's token is refused from now on; the profile is gone. */
	ck_assert_int_eq(req(&erin, "GET", "/api/users/me", NULL, &j), 401);
	assert_detail(j, "user_not_found", "User not found");
	json_decref(j);
	ck_assert_int_eq(req(&erin, "GET", "/api/account", NULL, &j), 401);
	json_decref(j);
	path_of(path, sizeof(path), "/api/profiles/%s", e);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 404);
	json_decref(j);
	ck_assert_int_eq(req(&alice, "GET", "/api/account", NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "friends")), 0);
	json_decref(j);

	free(project);
	free(alice_project);
	free(sent);
	free(received);
	free(note);
	free(skill);
	free(review);
	who_free(&erin);
	who_free(&alice);
}
END_TEST

START_TEST(skills_create_change_delete)
{
	struct who alice, bob, staff;
	struct test_response resp;
	char path[128], url[256];
	json_t *j;
	who_make(&alice, "ska");
	who_make(&bob, "skb");
	who_make_staff(&staff, "sks");

	ck_assert_int_eq(
		req_full(&alice, "POST", "/api/skills",
			 json_pack("{s:s,s:s,s:s}", "name", " Python ", "description", "10 years",
				   "id", "11111111-1111-4111-8111-111111111111"),
			 &resp, &j),
		201);
	ck_assert_int_eq(json_object_size(j), 4);
	ck_assert_str_eq(str(j, "name"), "Python");
	ck_assert_str_eq(str(j, "description"), "10 years");
	ck_assert_ptr_nonnull(str(j, "created"));
	char *id = xstrdup(str(j, "id"));
	ck_assert_str_ne(id, "11111111-1111-4111-8111-111111111111");
	char *location = test_response_header(&resp, "Location");
	snprintf(url, sizeof(url), "%s/api/skills/%s", ts.base, id);
	ck_assert_str_eq(location, url);
	free(location);
	test_response_release(&resp);
	json_decref(j);
	path_of(path, sizeof(path), "/api/skills/%s", id);

	/* The skill is on the profile. */
	char profile_path[128];
	path_of(profile_path, sizeof(profile_path), "/api/profiles/%s", alice.a.profile_id);
	ck_assert_int_eq(req(NULL, "GET", profile_path, NULL, &j), 200);
	json_t *j_skill = json_array_get(json_object_get(j, "skills"), 0);
	ck_assert_str_eq(str(j_skill, "id"), id);
	ck_assert_str_eq(str(j_skill, "description"), "10 years");
	json_decref(j);

	/* Duplicate (any case) on the same profile; fine on another profile. */
	ck_assert_int_eq(
		req(&alice, "POST", "/api/skills", json_pack("{s:s}", "name", "python"), &j), 400);
	assert_error(j, "name", "You already have a skill with this name.");
	json_decref(j);
	ck_assert_int_eq(req(&bob, "POST", "/api/skills", json_pack("{s:s}", "name", "PYTHON"), &j),
			 201);
	ck_assert_str_eq(str(j, "description"), "");
	json_decref(j);

	/* Name rules. */
	ck_assert_int_eq(req(&alice, "POST", "/api/skills",
			     json_pack("{s:s}", "description", "no name"), &j),
			 400);
	assert_error(j, "name", "This field is required.");
	json_decref(j);
	ck_assert_int_eq(req(&alice, "POST", "/api/skills",
			     json_pack("{s:s,s:n}", "name", "  ", "description"), &j),
			 400);
	assert_error(j, "name", "This field may not be blank.");
	assert_error(j, "description", "This field may not be null.");
	json_decref(j);
	char long_name[210];
	memset(long_name, 'n', sizeof(long_name));
	long_name[201] = '\0';
	ck_assert_int_eq(
		req(&alice, "POST", "/api/skills", json_pack("{s:s}", "name", long_name), &j), 400);
	assert_error(j, "name", "Ensure this field has no more than 200 characters.");
	json_decref(j);
	ck_assert_int_eq(req(NULL, "POST", "/api/skills", json_pack("{s:s}", "name", "C"), &j),
			 401);
	json_decref(j);

	/* Owner: PATCH and PUT. */
	ck_assert_int_eq(
		req(&alice, "PATCH", path, json_pack("{s:s}", "description", "Since 2014"), &j),
		200);
	ck_assert_str_eq(str(j, "name"), "Python");
	ck_assert_str_eq(str(j, "description"), "Since 2014");
	json_decref(j);
	ck_assert_int_eq(req(&alice, "PUT", path, json_pack("{s:s}", "description", "x"), &j), 400);
	assert_error(j, "name", "This field is required.");
	json_decref(j);
	ck_assert_int_eq(req(&alice, "PUT", path, json_pack("{s:s}", "name", "PYTHON"), &j), 200);
	ck_assert_str_eq(str(j, "name"), "PYTHON");
	ck_assert_str_eq(str(j, "description"), "Since 2014");
	json_decref(j);
	/* Renaming onto another of one's own skills. */
	ck_assert_int_eq(req(&alice, "POST", "/api/skills", json_pack("{s:s}", "name", "Perl"), &j),
			 201);
	char *perl = xstrdup(str(j, "id"));
	json_decref(j);
	ck_assert_int_eq(req(&alice, "PATCH", path, json_pack("{s:s}", "name", "perl"), &j), 400);
	assert_error(j, "name", "You already have a skill with this name.");
	json_decref(j);

	/* Someone else: 403 on every write; anonymous 401. */
	static const char *const methods[] = {"PUT", "PATCH", "DELETE"};
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(
			req(&bob, methods[i], path, json_pack("{s:s}", "name", "Cobol"), &j), 403);
		assert_detail(j, "permission_denied",
			      "You do not have permission to perform this action.");
		json_decref(j);
		ck_assert_int_eq(
			req(NULL, methods[i], path, json_pack("{s:s}", "name", "Cobol"), &j), 401);
		json_decref(j);
	}
	/* Staff may change and delete it; the duplicate check is the owner's skills'. */
	ck_assert_int_eq(req(&staff, "PATCH", path, json_pack("{s:s}", "name", "PERL"), &j), 400);
	assert_error(j, "name", "You already have a skill with this name.");
	json_decref(j);
	ck_assert_int_eq(req(&staff, "PATCH", path, json_pack("{s:s}", "name", "Python 3"), &j),
			 200);
	ck_assert_str_eq(str(j, "name"), "Python 3");
	json_decref(j);
	assert_sql(alice.a.profile_id, "SELECT owner_id FROM skills WHERE id = $1", id, NULL);
	ck_assert_int_eq(req(&staff, "DELETE", path, NULL, &j), 204);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(req(&alice, "DELETE", path, NULL, &j), 404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	ck_assert_int_eq(req(&alice, "PATCH", path, json_pack("{s:s}", "name", "x"), &j), 404);
	json_decref(j);

	/* Owner deletes; unknown id; GET is not a method of the route. */
	path_of(path, sizeof(path), "/api/skills/%s", perl);
	ck_assert_int_eq(req(&alice, "DELETE", path, NULL, &j), 204);
	ck_assert_int_eq(req(&alice, "DELETE", path, NULL, &j), 404);
	json_decref(j);
	ck_assert_int_eq(req(&alice, "GET", path, NULL, &j), 405);
	json_decref(j);
	free(id);
	free(perl);
	who_free(&alice);
	who_free(&bob);
	who_free(&staff);
}
END_TEST

struct skill_race {
	const char *access;
	long status;
	char message[128];
};

static void *race_skill(void *arg)
{
	struct skill_race *r = arg;
	struct test_response resp;
	char url[256], header[4096];
	const char *headers[] = {header, "Content-Type: application/json", NULL};
	snprintf(url, sizeof(url), "%s/api/skills", ts.base);
	snprintf(header, sizeof(header), "Authorization: Bearer %s", r->access);
	const char *body = "{\"name\": \"Rust\"}";
	if (test_http("POST", url, headers, body, strlen(body), &resp) == 0) {
		r->status = resp.status;
		json_t *j = json_loads(strbuf_str(&resp.body), 0, NULL);
		const char *msg = json_string_value(json_array_get(json_object_get(j, "name"), 0));
		snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "");
		json_decref(j);
	}
	test_response_release(&resp);
	return NULL;
}

START_TEST(concurrent_duplicate_skills_one_wins)
{
	struct who alice;
	struct skill_race races[8];
	pthread_t threads[8];
	who_make(&alice, "race");
	for (int i = 0; i < 8; i++) {
		races[i] = (struct skill_race){alice.access, 0, ""};
		pthread_create(&threads[i], NULL, race_skill, &races[i]);
	}
	int created = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_msg(races[i].status == 201 || races[i].status == 400, "status %ld",
			      races[i].status);
		if (races[i].status == 400)
			ck_assert_str_eq(races[i].message,
					 "You already have a skill with this name.");
		created += races[i].status == 201;
	}
	ck_assert_int_eq(created, 1);
	assert_sql("1", "SELECT count(*) FROM skills WHERE owner_id = $1", alice.a.profile_id,
		   NULL);
	who_free(&alice);
}
END_TEST

START_TEST(friends_add_and_remove)
{
	struct who alice, bob;
	struct test_response resp;
	char path[160], self[160], profile_path[128];
	json_t *j;
	who_make(&alice, "fra");
	who_make(&bob, "frb");
	path_of(path, sizeof(path), "/api/profiles/%s/friends", bob.a.profile_id);
	path_of(self, sizeof(self), "/api/profiles/%s/friends", alice.a.profile_id);
	path_of(profile_path, sizeof(profile_path), "/api/profiles/%s", alice.a.profile_id);

	/* No body at all, as the peer's clients send it. */
	ck_assert_int_eq(req_full(&alice, "POST", path, NULL, &resp, &j), 201);
	ck_assert_int_eq(json_object_size(j), 3);
	ck_assert_str_eq(str(j, "id"), bob.a.profile_id);
	ck_assert_str_eq(str(j, "username"), bob.a.username);
	ck_assert_str_eq(str(j, "name"), bob.a.username);
	char *location = test_response_header(&resp, "Location");
	ck_assert_ptr_null(location);
	test_response_release(&resp);
	json_decref(j);
	ck_assert_int_eq(req(&alice, "POST", path, NULL, &j), 200);
	ck_assert_str_eq(str(j, "id"), bob.a.profile_id);
	json_decref(j);

	/* One-way: on alice's profile, not on bob's. */
	ck_assert_int_eq(req(NULL, "GET", profile_path, NULL, &j), 200);
	json_t *j_friend = json_array_get(json_object_get(j, "friends"), 0);
	ck_assert_int_eq(json_object_size(j_friend), 3);
	ck_assert_str_eq(str(j_friend, "id"), bob.a.profile_id);
	ck_assert_str_eq(str(j_friend, "username"), bob.a.username);
	json_decref(j);
	assert_sql("0", "SELECT count(*) FROM friends WHERE profile_id = $1", bob.a.profile_id,
		   NULL);

	ck_assert_int_eq(req(&alice, "POST", self, NULL, &j), 400);
	assert_error(j, "non_field_errors", "You cannot add yourself as a friend.");
	json_decref(j);
	ck_assert_int_eq(req(&alice, "POST",
			     "/api/profiles/00000000-0000-4000-8000-000000000000/friends", NULL,
			     &j),
			 404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	ck_assert_int_eq(req(NULL, "POST", path, NULL, &j), 401);
	json_decref(j);
	ck_assert_int_eq(req(NULL, "DELETE", path, NULL, &j), 401);
	json_decref(j);

	ck_assert_int_eq(req(&alice, "DELETE", path, NULL, &j), 204);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(req(&alice, "DELETE", path, NULL, &j), 204);
	ck_assert_int_eq(req(&alice, "DELETE",
			     "/api/profiles/00000000-0000-4000-8000-000000000000/friends", NULL,
			     &j),
			 404);
	json_decref(j);
	assert_sql("0", "SELECT count(*) FROM friends WHERE profile_id = $1", alice.a.profile_id,
		   NULL);
	who_free(&alice);
	who_free(&bob);
}
END_TEST

/* A profile (with its user) made in SQL, named name with short_intro intro; its id. */
static char *make_profile(const char *name, const char *intro)
{
	char username[64];
	test_unique(username, sizeof(username), "sp");
	const char *params[] = {username, name, intro, NULL};
	return test_sql_params(test_env("DATABASE_URL"),
			       "WITH u AS (INSERT INTO users (username, email, password) "
			       "VALUES ($1, $1 || '@example.com', 'x') RETURNING id) "
			       "INSERT INTO profiles (user_id, name, short_intro, created) "
			       "SELECT id, $2, $3, clock_timestamp() FROM u RETURNING id",
			       params);
}

static void add_skill(const char *profile_id, const char *name)
{
	free(test_sql("INSERT INTO skills (owner_id, name) VALUES ($1, $2)", profile_id, name));
}

/* text percent-encoded for a query string; new string (free()). */
static char *curl_escape_text(const char *text)
{
	char *escaped = curl_easy_escape(NULL, text, 0);
	char *copy = xstrdup(escaped);
	curl_free(escaped);
	return copy;
}

/* GET /api/profiles?search=<search>&<extra> anonymously; the status. */
static long search_profiles(const char *search, const char *extra, json_t **j)
{
	char path[512];
	char *escaped = curl_escape_text(search);
	snprintf(path, sizeof(path), "/api/profiles?search=%s%s%s", escaped, extra ? "&" : "",
		 extra ? extra : "");
	free(escaped);
	return req(NULL, "GET", path, NULL, j);
}

START_TEST(search_matches_name_intro_or_skill_once)
{
	char token[64], search[80], name[128], intro[128];
	json_t *j;
	test_unique(token, sizeof(token), "tok");

	snprintf(name, sizeof(name), "Ann %s", token);
	char *by_name = make_profile(name, "");
	snprintf(intro, sizeof(intro), "Frontend %s developer", token);
	char *by_intro = make_profile("Ben", intro);
	char *by_skills = make_profile("Cid", "");
	snprintf(name, sizeof(name), "%sOps", token);
	add_skill(by_skills, name);
	snprintf(name, sizeof(name), "Py%s", token);
	add_skill(by_skills, name);
	char *unrelated = make_profile("Dee", "nothing here");

	/* Case-insensitive, each profile once, oldest first, no email. */
	snprintf(search, sizeof(search), "  %s ", token);
	for (char *p = search; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	ck_assert_int_eq(search_profiles(search, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 3);
	json_t *j_results = json_object_get(j, "results");
	ck_assert_int_eq(json_array_size(j_results), 3);
	ck_assert_str_eq(str(json_array_get(j_results, 0), "id"), by_name);
	ck_assert_str_eq(str(json_array_get(j_results, 1), "id"), by_intro);
	ck_assert_str_eq(str(json_array_get(j_results, 2), "id"), by_skills);
	assert_profile_shape(json_array_get(j_results, 0), 0);
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(j_results, 2), "skills")),
			 2);
	json_decref(j);

	/* Without search: everyone, unrelated included. */
	ck_assert_int_eq(req(NULL, "GET", "/api/profiles?page_size=100", NULL, &j), 200);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "count")), 4);
	json_decref(j);
	free(by_name);
	free(by_intro);
	free(by_skills);
	free(unrelated);
}
END_TEST

START_TEST(search_wildcards_are_literal)
{
	char token[64], text[128];
	json_t *j;
	test_unique(token, sizeof(token), "lit");
	static const char *const specials[] = {"%", "_", "\\"};

	for (size_t i = 0; i < 3; i++) {
		/* "<token>Q<c>Z" holds the character; "<token>QxZ" would match it as a wildcard. */
		snprintf(text, sizeof(text), "%sQ%sZ", token, specials[i]);
		char *with = make_profile(text, "");
		snprintf(text, sizeof(text), "%sQxZ", token);
		char *without = make_profile(text, "");
		snprintf(text, sizeof(text), "%sq%sz", token, specials[i]);
		ck_assert_int_eq(search_profiles(text, NULL, &j), 200);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
		ck_assert_str_eq(str(json_array_get(json_object_get(j, "results"), 0), "id"), with);
		json_decref(j);
		free(test_sql("DELETE FROM users WHERE id = (SELECT user_id FROM profiles "
			      "WHERE id = $1)",
			      without, NULL));
		free(test_sql("DELETE FROM users WHERE id = (SELECT user_id FROM profiles "
			      "WHERE id = $1)",
			      with, NULL));
		free(with);
		free(without);
	}
	/* A search of only spaces is no search. */
	ck_assert_int_eq(req(NULL, "GET", "/api/profiles?search=%20%20", NULL, &j), 200);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "count")), 1);
	json_decref(j);
}
END_TEST

/* count profiles named "<token> n" made in one statement. */
static void make_profiles(const char *token, int count)
{
	char n[16];
	snprintf(n, sizeof(n), "%d", count);
	free(test_sql("WITH u AS (INSERT INTO users (username, email, password) "
		      "SELECT $1 || 'u' || g, $1 || 'u' || g || '@example.com', 'x' "
		      "FROM generate_series(1, $2::int) g RETURNING id, username), "
		      "p AS (INSERT INTO profiles (user_id, name, short_intro) "
		      "SELECT id, 'Bulk ' || username, 'bulk intro' FROM u RETURNING id, name) "
		      "INSERT INTO skills (owner_id, name) SELECT id, 'Skill ' || name FROM p",
		      token, n));
}

static void drop_profiles(const char *token)
{
	free(test_sql("DELETE FROM users WHERE username LIKE $1 || 'u%'", token, NULL));
}

START_TEST(pagination_envelope_and_limits)
{
	char token[64], path[256], want[512];
	json_t *j;
	test_unique(token, sizeof(token), "pg");
	make_profiles(token, 105);

	snprintf(path, sizeof(path), "/api/profiles?search=%s&page_size=2", token);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 105);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 2);
	snprintf(want, sizeof(want), "%s/api/profiles?page=2&page_size=2&search=%s", ts.base,
		 token);
	ck_assert_str_eq(str(j, "next"), want);
	ck_assert(json_is_null(json_object_get(j, "previous")));
	json_decref(j);

	snprintf(path, sizeof(path), "/api/profiles/?search=%s&page_size=2&page=3", token);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	snprintf(want, sizeof(want), "%s/api/profiles/?page=2&page_size=2&search=%s", ts.base,
		 token);
	ck_assert_str_eq(str(j, "previous"), want);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/profiles?search=%s&page_size=2&page=2", token);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	snprintf(want, sizeof(want), "%s/api/profiles?page_size=2&search=%s", ts.base, token);
	ck_assert_str_eq(str(j, "previous"), want);
	json_decref(j);

	/* Default 20; at most 100; the last page; past the end. */
	snprintf(path, sizeof(path), "/api/profiles?search=%s", token);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 20);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/profiles?search=%s&page_size=500", token);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 100);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/profiles?search=%s&page_size=100&page=2", token);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 5);
	ck_assert(json_is_null(json_object_get(j, "next")));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/profiles?search=%s&page_size=100&page=3", token);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);
	ck_assert_int_eq(req(NULL, "GET", "/api/profiles?page=abc", NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);

	/* No match: page 1 is empty, not a 404. */
	ck_assert_int_eq(req(NULL, "GET", "/api/profiles?search=zzqqxx-no-such-profile", NULL, &j),
			 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 0);
	json_decref(j);
	drop_profiles(token);
}
END_TEST

/* Statements run by the server for GET path (anonymous). */
static unsigned long statements_for(const char *path, size_t *results)
{
	json_t *j;
	unsigned long before = db_pool_statement_count(ts.app.pool);
	ck_assert_int_eq(req(NULL, "GET", path, NULL, &j), 200);
	unsigned long after = db_pool_statement_count(ts.app.pool);
	*results = json_array_size(json_object_get(j, "results"));
	json_decref(j);
	return after - before;
}

START_TEST(list_statement_count_does_not_grow_with_the_page)
{
	char token[64], name[128], path[256];
	size_t n1, n100;
	test_unique(token, sizeof(token), "nq");
	char *ids[5];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "%s member %d", token, i);
		ids[i] = make_profile(name, "");
		add_skill(ids[i], "C");
		add_skill(ids[i], "SQL");
		free(test_sql("INSERT INTO projects (owner_id, title) VALUES ($1, 'P')", ids[i],
			      NULL));
		if (i)
			free(test_sql("INSERT INTO friends (profile_id, friend_id) VALUES ($1, $2)",
				      ids[i], ids[i - 1]));
	}
	snprintf(path, sizeof(path), "/api/profiles?search=%s&page_size=1", token);
	unsigned long one = statements_for(path, &n1);
	snprintf(path, sizeof(path), "/api/profiles?search=%s&page_size=100", token);
	unsigned long hundred = statements_for(path, &n100);
	ck_assert_int_eq(n1, 1);
	ck_assert_int_eq(n100, 5);
	ck_assert_int_eq(one, hundred);
	ck_assert_int_le(hundred, 5);
	/* The same without a search. */
	one = statements_for("/api/profiles?page_size=1", &n1);
	hundred = statements_for("/api/profiles?page_size=100", &n100);
	ck_assert_int_eq(n1, 1);
	ck_assert_int_gt(n100, 1);
	ck_assert_int_eq(one, hundred);
	for (int i = 0; i < 5; i++)
		free(ids[i]);
}
END_TEST

/* 1 if some node of the JSON plan scans relation sequentially. */
static int plan_seq_scans(const json_t *j_node, const char *relation)
{
	if (!json_is_object(j_node))
		return 0;
	const char *type = str(j_node, "Node Type");
	const char *rel = str(j_node, "Relation Name");
	if (type && !strcmp(type, "Seq Scan") && rel && !strcmp(rel, relation))
		return 1;
	json_t *j_plans = json_object_get(j_node, "Plans");
	for (size_t i = 0; i < json_array_size(j_plans); i++)
		if (plan_seq_scans(json_array_get(j_plans, i), relation))
			return 1;
	return 0;
}

/* "Node(relation) ..." of the plan, depth first, for failure messages. */
static void plan_summary(const json_t *j_node, struct strbuf *sb)
{
	if (!json_is_object(j_node))
		return;
	strbuf_addf(sb, "%s(%s) ", str(j_node, "Node Type"),
		    str(j_node, "Relation Name") ? str(j_node, "Relation Name") : "");
	json_t *j_plans = json_object_get(j_node, "Plans");
	for (size_t i = 0; i < json_array_size(j_plans); i++)
		plan_summary(json_array_get(j_plans, i), sb);
}

START_TEST(search_uses_the_trigram_indexes)
{
	char token[64], searches[2][96];
	test_unique(token, sizeof(token), "ex");
	make_profiles(token, 3000);
	free(test_sql("ANALYZE profiles", NULL, NULL));
	free(test_sql("ANALYZE skills", NULL, NULL));

	/*
	 * Searches as people type them: a few letters that match a few profiles
	 * (by name and by skill name), and a word that matches none. Each branch
	 * of the search must be an index scan. (A long search text has many
	 * trigrams to look up; on so small a table the planner may then rightly
	 * prefer reading it whole.)
	 */
	snprintf(searches[0], sizeof(searches[0]), "u1234");
	snprintf(searches[1], sizeof(searches[1]), "python");
	for (size_t i = 0; i < 2; i++) {
		struct strbuf sql = STRBUF_INIT;
		struct strbuf pattern = STRBUF_INIT;
		db_like_pattern(&pattern, searches[i]);
		strbuf_addf(&sql, "EXPLAIN (FORMAT JSON) %s", profile_search_sql());
		const char *params[] = {strbuf_str(&pattern), "20", "0", NULL};
		char *plan = test_sql_params(test_env("DATABASE_URL"), strbuf_str(&sql), params);
		json_t *j = json_loads(plan, 0, NULL);
		ck_assert_ptr_nonnull(j);
		json_t *j_root = json_object_get(json_array_get(j, 0), "Plan");
		ck_assert_ptr_nonnull(j_root);
		struct strbuf summary = STRBUF_INIT;
		plan_summary(j_root, &summary);
		ck_assert_msg(!plan_seq_scans(j_root, "profiles"), "%.500s", strbuf_str(&summary));
		ck_assert_msg(!plan_seq_scans(j_root, "skills"), "%.500s", strbuf_str(&summary));
		strbuf_release(&summary);
		json_decref(j);
		free(plan);
		strbuf_release(&pattern);
		strbuf_release(&sql);
	}
	/* And the server finds them: u77 and u770 to u779, by name and by skill. */
	json_t *j;
	char search[96];
	snprintf(search, sizeof(search), "%su77", token);
	ck_assert_int_eq(search_profiles(search, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 11);
	json_decref(j);
	snprintf(search, sizeof(search), "skill bulk %su77", token);
	ck_assert_int_eq(search_profiles(search, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 11);
	json_decref(j);
	drop_profiles(token);
}
END_TEST

Suite *profiles_suite(void)
{
	Suite *s = suite_create("profiles");
	TCase *tc = tcase_create("profiles");
	tcase_add_checked_fixture(tc, profiles_up, profiles_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, profile_detail_shows_email_only_to_its_owner);
	tcase_add_test(tc, account_read_and_update);
	tcase_add_test(tc, account_validation);
	tcase_add_test(tc, birth_date_today_is_allowed);
	tcase_add_test(tc, username_and_email_change_on_the_user);
	tcase_add_test(tc, favorite_note_rules);
	tcase_add_test(tc, account_deletion_cascades);
	tcase_add_test(tc, skills_create_change_delete);
	tcase_add_test(tc, concurrent_duplicate_skills_one_wins);
	tcase_add_test(tc, friends_add_and_remove);
	tcase_add_test(tc, search_matches_name_intro_or_skill_once);
	tcase_add_test(tc, search_wildcards_are_literal);
	tcase_add_test(tc, pagination_envelope_and_limits);
	tcase_add_test(tc, list_statement_count_does_not_grow_with_the_page);
	tcase_add_test(tc, search_uses_the_trigram_indexes);
	suite_add_tcase(s, tc);
	return s;
}
