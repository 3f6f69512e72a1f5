/*
 * Messages, notes and the staff routes over HTTP against the real server and
 * database: every endpoint's success path, the permission matrix (anonymous,
 * someone else, owner, staff), each validation rule, inbox order and
 * unread_count, pagination, a fixed number of statements per list whatever
 * the page size, the favorite note cleared by deleting it, admin search with
 * literal pattern characters, and deactivation taking effect at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/db.h"
#include "support.h"

static struct test_server ts;

/* A registered, logged-in user. */
struct member {
	struct test_account a;
	char *access;
	char *refresh;
};

static void messages_up(void)
{
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
	test_server_start(&ts, NULL, 0);
}

static void messages_down(void)
{
	test_server_stop(&ts);
}

static void member_new(struct member *m, const char *prefix)
{
	test_register(&ts, &m->a, prefix);
	ck_assert_int_eq(test_login(&ts, m->a.username, TEST_PASSWORD, &m->access, &m->refresh),
			 200);
}

static void member_free(struct member *m)
{
	free(m->access);
	free(m->refresh);
}

/* A staff member: made staff in the database (the access check reads is_staff on each request). */
static void staff_new(struct member *m)
{
	member_new(m, "staff");
	free(test_sql("UPDATE users SET is_staff = true WHERE id = $1", m->a.user_id, NULL));
}

/*
 * method path as token (NULL: anonymous) with j_body (stolen, may be NULL).
 * *j the answer (may be NULL), *location the Location header (if location;
 * new string or NULL), *raw the raw body (if raw; new string).
 */
static long call_full(const char *method, const char *path, const char *token, json_t *j_body,
		      json_t **j, char **location, char **raw)
{
	struct test_response resp;
	char *text = j_body ? json_dumps(j_body, JSON_COMPACT) : NULL;
	json_decref(j_body);
	long status = test_call(&ts, method, path, token ? test_bearer(token) : TEST_JSON, text,
				&resp, j);
	if (location)
		*location = test_response_header(&resp, "Location");
	if (raw)
		*raw = xstrdup(strbuf_str(&resp.body));
	free(text);
	test_response_release(&resp);
	return status;
}

static long call(const char *method, const char *path, const char *token, json_t *j_body,
		 json_t **j)
{
	return call_full(method, path, token, j_body, j, NULL, NULL);
}

static const char *str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* The first message of j[field]. */
static const char *first_error(json_t *j, const char *field)
{
	return json_string_value(json_array_get(json_object_get(j, field), 0));
}

static void assert_detail(json_t *j, const char *code, const char *detail)
{
	ck_assert_str_eq(str(j, "code"), code);
	ck_assert_str_eq(str(j, "detail"), detail);
}

static void path_of(char *out, size_t size, const char *fmt, const char *id)
{
	snprintf(out, size, fmt, id);
}

/* Send an anonymous message to profile; returns the new message id (new string). */
static char *send_anonymous(const char *profile_id, const char *subject)
{
	char path[128];
	json_t *j;
	path_of(path, sizeof(path), "/api/profiles/%s/messages", profile_id);
	ck_assert_int_eq(call("POST", path, NULL,
			      json_pack("{s:s,s:s,s:s,s:s}", "name", "Rita Recruiter", "email",
					"rita@example.com", "subject", subject, "body", "Hello"),
			      &j),
			 201);
	char *id = xstrdup(str(j, "id"));
	json_decref(j);
	return id;
}

/* The ids of j["results"] in order, joined by spaces, into out. */
static void result_ids(json_t *j, char *out, size_t size)
{
	json_t *j_results = json_object_get(j, "results");
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(j_results); i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " " : "",
					 str(json_array_get(j_results, i), "id"));
}

/* Statements the server ran for one GET of path as token. */
static unsigned long statements_for(const char *path, const char *token)
{
	json_t *j;
	unsigned long before = db_pool_statement_count(ts.app.pool);
	ck_assert_int_eq(call("GET", path, token, NULL, &j), 200);
	unsigned long after = db_pool_statement_count(ts.app.pool);
	json_decref(j);
	return after - before;
}

/* ---------------------------------------------------------------- messages */

START_TEST(send_anonymous_and_logged_in)
{
	struct member alice, bob;
	char path[128], expected[256];
	char *location;
	json_t *j;
	member_new(&alice, "alice");
	member_new(&bob, "bob");
	path_of(path, sizeof(path), "/api/profiles/%s/messages", alice.a.profile_id);

	/* Anonymous: name and email as given (trimmed), no sender. */
	ck_assert_int_eq(call_full("POST", path, NULL,
				   json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", " Rita Recruiter ",
					     "email", "rita@example.com", "subject", "  Job offer ",
					     "body", "Port more APIs to C?", "is_read", 1),
				   &j, &location, NULL),
			 201);
	ck_assert(json_is_null(json_object_get(j, "sender")));
	json_t *j_recipient = json_object_get(j, "recipient");
	ck_assert_str_eq(str(j_recipient, "id"), alice.a.profile_id);
	ck_assert_str_eq(str(j_recipient, "username"), alice.a.username);
	ck_assert_str_eq(str(j_recipient, "name"), alice.a.username);
	ck_assert_int_eq(json_object_size(j_recipient), 3);
	ck_assert_str_eq(str(j, "name"), "Rita Recruiter");
	ck_assert_str_eq(str(j, "email"), "rita@example.com");
	ck_assert_str_eq(str(j, "subject"), "Job offer");
	ck_assert_str_eq(str(j, "body"), "Port more APIs to C?");
	ck_assert(json_is_false(json_object_get(j, "is_read"))); /* read-only: ignored */
	ck_assert_ptr_nonnull(str(j, "created"));
	ck_assert_int_eq(json_object_size(j), 9);
	snprintf(expected, sizeof(expected), "%s/api/inbox/%s", ts.base, str(j, "id"));
	ck_assert_str_eq(location, expected);
	free(location);
	json_decref(j);

	/* Logged in: name and email come from the sender's profile, whatever was sent. */
	ck_assert_int_eq(
		call("POST", path, bob.access,
		     json_pack("{s:s,s:s,s:s,s:s}", "subject", "Your C port", "body", "Can I help?",
			       "name", "ignored", "email", "ignored@example.com"),
		     &j),
		201);
	json_t *j_sender = json_object_get(j, "sender");
	ck_assert_str_eq(str(j_sender, "id"), bob.a.profile_id);
	ck_assert_str_eq(str(j_sender, "username"), bob.a.username);
	ck_assert_str_eq(str(j_sender, "name"), bob.a.username);
	ck_assert_str_eq(str(j, "name"), bob.a.username);
	ck_assert_str_eq(str(j, "email"), bob.a.email);
	json_decref(j);

	/* Logged in without name or email at all. */
	ck_assert_int_eq(call("POST", path, bob.access,
			      json_pack("{s:s,s:s}", "subject", "Again", "body", "x"), &j),
			 201);
	ck_assert_str_eq(str(j, "email"), bob.a.email);
	json_decref(j);
	member_free(&alice);
	member_free(&bob);
}
END_TEST

START_TEST(send_validation)
{
	struct member alice, bob;
	char path[128], long_subject[202];
	json_t *j;
	member_new(&alice, "alice");
	member_new(&bob, "bob");
	path_of(path, sizeof(path), "/api/profiles/%s/messages", alice.a.profile_id);

	/* Anonymous without name and email: both required. */
	ck_assert_int_eq(call("POST", path, NULL,
			      json_pack("{s:s,s:s}", "subject", "Hi", "body", "Who am I?"), &j),
			 400);
	ck_assert_str_eq(first_error(j, "name"), "This field is required.");
	ck_assert_str_eq(first_error(j, "email"), "This field is required.");
	ck_assert_int_eq(json_object_size(j), 2);
	json_decref(j);

	/* Blank name, empty email: still required. */
	ck_assert_int_eq(call("POST", path, NULL,
			      json_pack("{s:s,s:s,s:s,s:s}", "name", "   ", "email", "", "subject",
					"Hi", "body", "x"),
			      &j),
			 400);
	ck_assert_str_eq(first_error(j, "name"), "This field is required.");
	ck_assert_str_eq(first_error(j, "email"), "This field is required.");
	json_decref(j);

	/* A bad email: its own message, only that. */
	ck_assert_int_eq(call("POST", path, NULL,
			      json_pack("{s:s,s:s,s:s,s:s}", "name", "Rita", "email",
					"rita-at-example", "subject", "Hi", "body", "x"),
			      &j),
			 400);
	ck_assert_str_eq(first_error(j, "email"), "Enter a valid email address.");
	ck_assert_int_eq(json_array_size(json_object_get(j, "email")), 1);
	ck_assert_int_eq(json_object_size(j), 1);
	json_decref(j);

	/* A logged-in sender: subject and body are required, and nothing else. */
	ck_assert_int_eq(
		call("POST", path, bob.access, json_pack("{s:s}", "body", "no subject"), &j), 400);
	ck_assert_str_eq(first_error(j, "subject"), "This field is required.");
	ck_assert_int_eq(json_object_size(j), 1);
	json_decref(j);
	ck_assert_int_eq(
		call("POST", path, bob.access, json_pack("{s:s}", "subject", "no body"), &j), 400);
	ck_assert_str_eq(first_error(j, "body"), "This field is required.");
	ck_assert_int_eq(json_object_size(j), 1);
	json_decref(j);

	/* Every error at once: blank subject, too long name, null body, bad email. */
	memset(long_subject, 'x', 201);
	long_subject[201] = '\0';
	ck_assert_int_eq(call("POST", path, NULL,
			      json_pack("{s:s,s:s,s:n,s:s}", "subject", long_subject, "name", " ",
					"body", "email", "nope"),
			      &j),
			 400);
	ck_assert_str_eq(first_error(j, "subject"),
			 "Ensure this field has no more than 200 characters.");
	ck_assert_str_eq(first_error(j, "body"), "This field may not be null.");
	ck_assert_str_eq(first_error(j, "name"), "This field is required.");
	ck_assert_str_eq(first_error(j, "email"), "Enter a valid email address.");
	json_decref(j);
	ck_assert_int_eq(call("POST", path, bob.access,
			      json_pack("{s:s,s:s}", "subject", "\t", "body", " "), &j),
			 400);
	ck_assert_str_eq(first_error(j, "subject"), "This field may not be blank.");
	ck_assert_str_eq(first_error(j, "body"), "This field may not be blank.");
	json_decref(j);

	/* A NUL character: 400 on that field. */
	const char *nul_body = "{\"subject\": \"Hi\", \"body\": \"a\\u0000b\"}";
	struct test_response resp;
	const char *const *headers = test_bearer(bob.access);
	ck_assert_int_eq(test_call(&ts, "POST", path, headers, nul_body, &resp, &j), 400);
	ck_assert_str_eq(first_error(j, "body"), "Null characters are not allowed.");
	json_decref(j);
	test_response_release(&resp);

	/* Nothing of that was stored. */
	char *n = test_sql("SELECT count(*) FROM messages WHERE recipient_id = $1",
			   alice.a.profile_id, NULL);
	ck_assert_str_eq(n, "0");
	free(n);

	/* No such recipient: 404, even with an invalid body; an id that is not a UUID too. */
	const char *nobody = "/api/profiles/00000000-0000-4000-8000-000000000000/messages";
	ck_assert_int_eq(call("POST", nobody, NULL,
			      json_pack("{s:s,s:s,s:s,s:s}", "name", "Rita", "email",
					"rita@example.com", "subject", "Hi", "body", "x"),
			      &j),
			 404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	ck_assert_int_eq(call("POST", nobody, NULL, json_object(), &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("POST", "/api/profiles/not-a-uuid/messages", NULL, json_object(), &j),
			 404);
	json_decref(j);

	/* A bad token on this public route is refused, not taken as anonymous. */
	ck_assert_int_eq(call("POST", path, "not-a-token",
			      json_pack("{s:s,s:s,s:s,s:s}", "name", "Rita", "email",
					"rita@example.com", "subject", "Hi", "body", "x"),
			      &j),
			 401);
	json_decref(j);
	member_free(&alice);
	member_free(&bob);
}
END_TEST

START_TEST(inbox_order_unread_count_and_reading)
{
	struct member alice, bob;
	char path[128], ids[256], expected[256];
	char *raw;
	json_t *j;
	member_new(&alice, "alice");
	member_new(&bob, "bob");
	char *m1 = send_anonymous(alice.a.profile_id, "first");
	char *m2 = send_anonymous(alice.a.profile_id, "second");
	char *m3 = send_anonymous(alice.a.profile_id, "third");
	char *other = send_anonymous(bob.a.profile_id, "for bob");

	/* Newest first while all are unread; only the caller's messages. */
	ck_assert_int_eq(call_full("GET", "/api/inbox", alice.access, NULL, &j, NULL, &raw), 200);
	result_ids(j, ids, sizeof(ids));
	snprintf(expected, sizeof(expected), "%s %s %s", m3, m2, m1);
	ck_assert_str_eq(ids, expected);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "unread_count")), 3);
	ck_assert(json_is_null(json_object_get(j, "next")));
	ck_assert(json_is_null(json_object_get(j, "previous")));
	/* unread_count sits right after count, as the Django version writes it. */
	ck_assert_ptr_nonnull(strstr(raw, "{\"count\":3,\"unread_count\":3,\"next\":"));
	free(raw);
	json_decref(j);

	/* Reading the newest marks it read: the answer says so, and so does the database. */
	path_of(path, sizeof(path), "/api/inbox/%s", m3);
	ck_assert_int_eq(call("GET", path, alice.access, NULL, &j), 200);
	ck_assert_str_eq(str(j, "id"), m3);
	ck_assert_str_eq(str(j, "subject"), "third");
	ck_assert(json_is_true(json_object_get(j, "is_read")));
	json_decref(j);
	char *read = test_sql("SELECT is_read FROM messages WHERE id = $1", m3, NULL);
	ck_assert_str_eq(read, "t");
	free(read);
	/* Reading it again: still 200, still read. */
	ck_assert_int_eq(call("GET", path, alice.access, NULL, &j), 200);
	ck_assert(json_is_true(json_object_get(j, "is_read")));
	json_decref(j);

	/* Unread first, then read; unread_count drops. */
	ck_assert_int_eq(call("GET", "/api/inbox", alice.access, NULL, &j), 200);
	result_ids(j, ids, sizeof(ids));
	snprintf(expected, sizeof(expected), "%s %s %s", m2, m1, m3);
	ck_assert_str_eq(ids, expected);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "unread_count")), 2);
	json_t *j_last = json_array_get(json_object_get(j, "results"), 2);
	ck_assert(json_is_true(json_object_get(j_last, "is_read")));
	json_decref(j);

	/* An empty inbox. */
	struct member carol;
	member_new(&carol, "carol");
	ck_assert_int_eq(call("GET", "/api/inbox", carol.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "unread_count")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 0);
	json_decref(j);

	free(m1);
	free(m2);
	free(m3);
	free(other);
	member_free(&alice);
	member_free(&bob);
	member_free(&carol);
}
END_TEST

START_TEST(inbox_permissions)
{
	struct member alice, bob;
	char path[128], message_path[128];
	char *raw;
	json_t *j;
	member_new(&alice, "alice");
	member_new(&bob, "bob");

	ck_assert_int_eq(call("GET", "/api/inbox", NULL, NULL, &j), 401);
	assert_detail(j, "not_authenticated", "Authentication credentials were not provided.");
	json_decref(j);

	/* Bob sends to alice: he still cannot read or delete it (404, not 403). */
	path_of(path, sizeof(path), "/api/profiles/%s/messages", alice.a.profile_id);
	ck_assert_int_eq(call("POST", path, bob.access,
			      json_pack("{s:s,s:s}", "subject", "Hi", "body", "x"), &j),
			 201);
	path_of(message_path, sizeof(message_path), "/api/inbox/%s", str(j, "id"));
	char *id = xstrdup(str(j, "id"));
	json_decref(j);
	ck_assert_int_eq(call("GET", message_path, bob.access, NULL, &j), 404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	ck_assert_int_eq(call("DELETE", message_path, bob.access, NULL, &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("GET", message_path, NULL, NULL, &j), 401);
	json_decref(j);
	ck_assert_int_eq(call("DELETE", message_path, NULL, NULL, &j), 401);
	json_decref(j);
	/* Bob's look did not mark it read. */
	char *read = test_sql("SELECT is_read FROM messages WHERE id = $1", id, NULL);
	ck_assert_str_eq(read, "f");
	free(read);

	/* The recipient deletes it: 204 without a body; then it is gone. */
	ck_assert_int_eq(call_full("DELETE", message_path, alice.access, NULL, NULL, NULL, &raw),
			 204);
	ck_assert_str_eq(raw, "");
	free(raw);
	ck_assert_int_eq(call("GET", message_path, alice.access, NULL, &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("DELETE", message_path, alice.access, NULL, &j), 404);
	json_decref(j);
	char *n = test_sql("SELECT count(*) FROM messages WHERE id = $1", id, NULL);
	ck_assert_str_eq(n, "0");
	free(n);
	ck_assert_int_eq(call("GET", "/api/inbox/00000000-0000-4000-8000-000000000000",
			      alice.access, NULL, &j),
			 404);
	json_decref(j);
	free(id);
	member_free(&alice);
	member_free(&bob);
}
END_TEST

START_TEST(inbox_pagination_and_statements)
{
	struct member alice;
	char expected[256], ids[512];
	json_t *j;
	member_new(&alice, "alice");
	char *m[5];
	for (int i = 0; i < 5; i++)
		m[i] = send_anonymous(alice.a.profile_id, "paged");

	ck_assert_int_eq(call("GET", "/api/inbox?page_size=2", alice.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "unread_count")), 5);
	snprintf(expected, sizeof(expected), "%s/api/inbox?page=2&page_size=2", ts.base);
	ck_assert_str_eq(str(j, "next"), expected);
	ck_assert(json_is_null(json_object_get(j, "previous")));
	result_ids(j, ids, sizeof(ids));
	snprintf(expected, sizeof(expected), "%s %s", m[4], m[3]);
	ck_assert_str_eq(ids, expected);
	json_decref(j);

	ck_assert_int_eq(call("GET", "/api/inbox?page=3&page_size=2", alice.access, NULL, &j), 200);
	result_ids(j, ids, sizeof(ids));
	ck_assert_str_eq(ids, m[0]);
	ck_assert(json_is_null(json_object_get(j, "next")));
	snprintf(expected, sizeof(expected), "%s/api/inbox?page=2&page_size=2", ts.base);
	ck_assert_str_eq(str(j, "previous"), expected);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "unread_count")), 5);
	json_decref(j);

	ck_assert_int_eq(call("GET", "/api/inbox?page=2&page_size=2", alice.access, NULL, &j), 200);
	snprintf(expected, sizeof(expected), "%s/api/inbox?page_size=2", ts.base);
	ck_assert_str_eq(str(j, "previous"), expected);
	json_decref(j);

	ck_assert_int_eq(call("GET", "/api/inbox?page=4&page_size=2", alice.access, NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/inbox?page=x", alice.access, NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);

	/* One statement for the access check, one for the page: whatever the page size. */
	unsigned long small = statements_for("/api/inbox?page_size=1", alice.access);
	unsigned long large = statements_for("/api/inbox?page_size=100", alice.access);
	ck_assert_uint_eq(small, large);
	ck_assert_uint_eq(large, 2);
	for (int i = 0; i < 5; i++)
		free(m[i]);
	member_free(&alice);
}
END_TEST

/* ---------------------------------------------------------------- notes */

/* Create a note; returns its id (new string). */
static char *note_new(const char *token, const char *title)
{
	json_t *j;
	ck_assert_int_eq(call("POST", "/api/notes", token, json_pack("{s:s}", "title", title), &j),
			 201);
	char *id = xstrdup(str(j, "id"));
	json_decref(j);
	return id;
}

START_TEST(notes_crud)
{
	struct member alice;
	char path[128], expected[256], ids[256];
	char *location, *raw;
	json_t *j;
	member_new(&alice, "alice");

	ck_assert_int_eq(call_full("POST", "/api/notes", alice.access,
				   json_pack("{s:s,s:s,s:s}", "title", " Ideas ", "body",
					     "Use jansson.", "id", "ignored"),
				   &j, &location, NULL),
			 201);
	char *n1 = xstrdup(str(j, "id"));
	/* Two clock readings, in order (they may share a microsecond). */
	char *in_order = test_sql("SELECT updated >= created FROM notes WHERE id = $1", n1, NULL);
	ck_assert_str_eq(in_order, "t");
	free(in_order);
	ck_assert_str_eq(str(j, "title"), "Ideas");
	ck_assert_str_eq(str(j, "body"), "Use jansson.");
	ck_assert_ptr_nonnull(str(j, "created"));
	ck_assert_ptr_nonnull(str(j, "updated"));
	ck_assert_int_eq(json_object_size(j), 5);
	char *created = xstrdup(str(j, "created"));
	char *updated = xstrdup(str(j, "updated"));
	snprintf(expected, sizeof(expected), "%s/api/notes/%s", ts.base, n1);
	ck_assert_str_eq(location, expected);
	free(location);
	json_decref(j);

	/* body is optional. */
	ck_assert_int_eq(call("POST", "/api/notes", alice.access,
			      json_pack("{s:s}", "title", "Title only"), &j),
			 201);
	char *n2 = xstrdup(str(j, "id"));
	ck_assert_str_eq(str(j, "body"), "");
	json_decref(j);

	/* Newest first. */
	ck_assert_int_eq(call("GET", "/api/notes", alice.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 2);
	ck_assert_ptr_null(json_object_get(j, "unread_count"));
	result_ids(j, ids, sizeof(ids));
	snprintf(expected, sizeof(expected), "%s %s", n2, n1);
	ck_assert_str_eq(ids, expected);
	json_decref(j);

	path_of(path, sizeof(path), "/api/notes/%s", n1);
	ck_assert_int_eq(call("GET", path, alice.access, NULL, &j), 200);
	ck_assert_str_eq(str(j, "title"), "Ideas");
	ck_assert_str_eq(str(j, "created"), created);
	json_decref(j);

	/* PATCH: given fields only; updated moves, created stays. */
	ck_assert_int_eq(call("PATCH", path, alice.access,
			      json_pack("{s:s,s:s}", "body", "Use jansson and ulfius.", "created",
					"2000-01-01T00:00:00Z"),
			      &j),
			 200);
	ck_assert_str_eq(str(j, "title"), "Ideas");
	ck_assert_str_eq(str(j, "body"), "Use jansson and ulfius.");
	ck_assert_str_eq(str(j, "created"), created);
	ck_assert_str_ne(str(j, "updated"), updated);
	free(updated);
	updated = xstrdup(str(j, "updated"));
	json_decref(j);
	/* An empty PATCH is still a write. */
	ck_assert_int_eq(call("PATCH", path, alice.access, json_object(), &j), 200);
	ck_assert_str_ne(str(j, "updated"), updated);
	json_decref(j);
	char *later = test_sql("SELECT updated > created FROM notes WHERE id = $1", n1, NULL);
	ck_assert_str_eq(later, "t");
	free(later);

	/* PUT needs the title; a body left out keeps its value. */
	ck_assert_int_eq(call("PUT", path, alice.access, json_pack("{s:s}", "body", "x"), &j), 400);
	ck_assert_str_eq(first_error(j, "title"), "This field is required.");
	json_decref(j);
	ck_assert_int_eq(
		call("PUT", path, alice.access, json_pack("{s:s}", "title", "Renamed"), &j), 200);
	ck_assert_str_eq(str(j, "title"), "Renamed");
	ck_assert_str_eq(str(j, "body"), "Use jansson and ulfius.");
	json_decref(j);
	ck_assert_int_eq(call("PUT", path, alice.access,
			      json_pack("{s:s,s:s}", "title", "Renamed", "body", ""), &j),
			 200);
	ck_assert_str_eq(str(j, "body"), "");
	json_decref(j);

	/* Validation: missing, blank, too long title; null body; every error at once. */
	ck_assert_int_eq(call("POST", "/api/notes", alice.access,
			      json_pack("{s:s}", "body", "no title"), &j),
			 400);
	ck_assert_str_eq(first_error(j, "title"), "This field is required.");
	ck_assert_int_eq(json_object_size(j), 1);
	json_decref(j);
	char long_title[202];
	memset(long_title, 'y', 201);
	long_title[201] = '\0';
	ck_assert_int_eq(call("POST", "/api/notes", alice.access,
			      json_pack("{s:s,s:n}", "title", long_title, "body"), &j),
			 400);
	ck_assert_str_eq(first_error(j, "title"),
			 "Ensure this field has no more than 200 characters.");
	ck_assert_str_eq(first_error(j, "body"), "This field may not be null.");
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, alice.access, json_pack("{s:s}", "title", "  "), &j),
			 400);
	ck_assert_str_eq(first_error(j, "title"), "This field may not be blank.");
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, alice.access, json_pack("{s:[]}", "title"), &j), 400);
	ck_assert_str_eq(first_error(j, "title"), "Not a valid string.");
	json_decref(j);

	/* DELETE: 204 without a body, then 404. */
	ck_assert_int_eq(call_full("DELETE", path, alice.access, NULL, NULL, NULL, &raw), 204);
	ck_assert_str_eq(raw, "");
	free(raw);
	ck_assert_int_eq(call("GET", path, alice.access, NULL, &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("DELETE", path, alice.access, NULL, &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, alice.access, json_object(), &j), 404);
	json_decref(j);

	free(n1);
	free(n2);
	free(created);
	free(updated);
	member_free(&alice);
}
END_TEST

START_TEST(notes_are_private)
{
	struct member alice, bob;
	char path[128];
	json_t *j;
	member_new(&alice, "alice");
	member_new(&bob, "bob");
	char *note = note_new(alice.access, "Secret");
	path_of(path, sizeof(path), "/api/notes/%s", note);

	ck_assert_int_eq(call("GET", "/api/notes", NULL, NULL, &j), 401);
	json_decref(j);
	ck_assert_int_eq(call("POST", "/api/notes", NULL, json_pack("{s:s}", "title", "x"), &j),
			 401);
	json_decref(j);
	ck_assert_int_eq(call("GET", path, NULL, NULL, &j), 401);
	json_decref(j);

	/* Someone else's note is not found, whatever the method and body. */
	ck_assert_int_eq(call("GET", path, bob.access, NULL, &j), 404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	ck_assert_int_eq(call("PUT", path, bob.access, json_pack("{s:s}", "title", "Mine"), &j),
			 404);
	json_decref(j);
	ck_assert_int_eq(call("PUT", path, bob.access, json_object(), &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, bob.access, json_pack("{s:s}", "title", ""), &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("DELETE", path, bob.access, NULL, &j), 404);
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/notes", bob.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);

	/* Untouched. */
	ck_assert_int_eq(call("GET", path, alice.access, NULL, &j), 200);
	ck_assert_str_eq(str(j, "title"), "Secret");
	json_decref(j);
	free(note);
	member_free(&alice);
	member_free(&bob);
}
END_TEST

START_TEST(notes_pagination_and_statements)
{
	struct member alice;
	char expected[256];
	json_t *j;
	member_new(&alice, "alice");
	char *n[3];
	for (int i = 0; i < 3; i++)
		n[i] = note_new(alice.access, "paged");

	ck_assert_int_eq(call("GET", "/api/notes?page_size=2", alice.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 3);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 2);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "results"), 0), "id"), n[2]);
	snprintf(expected, sizeof(expected), "%s/api/notes?page=2&page_size=2", ts.base);
	ck_assert_str_eq(str(j, "next"), expected);
	ck_assert(json_is_null(json_object_get(j, "previous")));
	json_decref(j);

	ck_assert_int_eq(call("GET", "/api/notes/?page=2&page_size=2", alice.access, NULL, &j),
			 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "results"), 0), "id"), n[0]);
	ck_assert(json_is_null(json_object_get(j, "next")));
	/* The trailing slash is kept in the links. */
	snprintf(expected, sizeof(expected), "%s/api/notes/?page_size=2", ts.base);
	ck_assert_str_eq(str(j, "previous"), expected);
	json_decref(j);

	ck_assert_int_eq(call("GET", "/api/notes?page=3&page_size=2", alice.access, NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);

	unsigned long small = statements_for("/api/notes?page_size=1", alice.access);
	unsigned long large = statements_for("/api/notes?page_size=100", alice.access);
	ck_assert_uint_eq(small, large);
	ck_assert_uint_eq(large, 2);
	for (int i = 0; i < 3; i++)
		free(n[i]);
	member_free(&alice);
}
END_TEST

START_TEST(deleting_the_favorite_note_clears_it)
{
	struct member alice;
	char path[128];
	json_t *j;
	member_new(&alice, "alice");
	char *keep = note_new(alice.access, "Keep");
	char *fav = note_new(alice.access, "Favorite");
	free(test_sql("UPDATE profiles SET favorite_note_id = $1 WHERE id = $2", fav,
		      alice.a.profile_id));

	/* Deleting another note leaves the favorite alone. */
	path_of(path, sizeof(path), "/api/notes/%s", keep);
	ck_assert_int_eq(call("DELETE", path, alice.access, NULL, NULL), 204);
	char *value = test_sql("SELECT favorite_note_id FROM profiles WHERE id = $1",
			       alice.a.profile_id, NULL);
	ck_assert_str_eq(value, fav);
	free(value);

	path_of(path, sizeof(path), "/api/notes/%s", fav);
	ck_assert_int_eq(call("DELETE", path, alice.access, NULL, NULL), 204);
	value = test_sql("SELECT favorite_note_id FROM profiles WHERE id = $1", alice.a.profile_id,
			 NULL);
	ck_assert_ptr_null(value);
	/* The profile itself is intact, and says so. */
	ck_assert_int_eq(call("GET", "/api/users/me", alice.access, NULL, &j), 200);
	json_t *j_profile = json_object_get(j, "profile");
	ck_assert_str_eq(str(j_profile, "id"), alice.a.profile_id);
	ck_assert(json_is_null(json_object_get(j_profile, "favorite_note")));
	json_decref(j);
	free(keep);
	free(fav);
	member_free(&alice);
}
END_TEST

/* ---------------------------------------------------------------- staff */

START_TEST(admin_permissions)
{
	struct member staff, dave;
	char path[128];
	json_t *j;
	staff_new(&staff);
	member_new(&dave, "dave");
	path_of(path, sizeof(path), "/api/admin/users/%s", dave.a.user_id);

	ck_assert_int_eq(call("GET", "/api/admin/users", NULL, NULL, &j), 401);
	assert_detail(j, "not_authenticated", "Authentication credentials were not provided.");
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, NULL, json_pack("{s:b}", "is_active", 0), &j), 401);
	json_decref(j);

	ck_assert_int_eq(call("GET", "/api/admin/users", dave.access, NULL, &j), 403);
	assert_detail(j, "permission_denied", "You do not have permission to perform this action.");
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, dave.access, json_pack("{s:b}", "is_staff", 1), &j),
			 403);
	assert_detail(j, "permission_denied", "You do not have permission to perform this action.");
	json_decref(j);
	/* Even for an unknown user, or with a bad body: the permission comes first. */
	ck_assert_int_eq(call("PATCH", "/api/admin/users/00000000-0000-4000-8000-000000000000",
			      dave.access, json_pack("{s:s}", "is_staff", "maybe"), &j),
			 403);
	json_decref(j);
	char *flag = test_sql("SELECT is_staff FROM users WHERE id = $1", dave.a.user_id, NULL);
	ck_assert_str_eq(flag, "f");
	free(flag);

	ck_assert_int_eq(call("GET", "/api/admin/users", staff.access, NULL, &j), 200);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "count")), 2);
	json_decref(j);
	member_free(&staff);
	member_free(&dave);
}
END_TEST

START_TEST(admin_list_and_search)
{
	struct member staff, logged;
	struct test_account never, under, plain;
	char tag[48], search[128], name[96], email[128];
	json_t *j;
	staff_new(&staff);
	test_unique(tag, sizeof(tag), "srch");

	/* Three users sharing tag: one logs in, two never do. */
	snprintf(name, sizeof(name), "Logged%s", tag);
	test_register(&ts, &logged.a, name);
	ck_assert_int_eq(
		test_login(&ts, logged.a.username, TEST_PASSWORD, &logged.access, &logged.refresh),
		200);
	test_register(&ts, &never, tag);
	/* A user found by email only. */
	snprintf(email, sizeof(email), "mail.%s@example.com", tag);
	test_unique(plain.username, sizeof(plain.username), "plain");
	ck_assert_int_eq(test_post(&ts, "/api/users/register", NULL,
				   json_pack("{s:s,s:s,s:s}", "username", plain.username, "email",
					     email, "password", TEST_PASSWORD),
				   &j),
			 201);
	snprintf(plain.user_id, sizeof(plain.user_id), "%s", str(j, "id"));
	json_decref(j);

	/* Case-insensitive, username or email, ordered by date_joined. */
	for (char *p = tag; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	snprintf(search, sizeof(search), "/api/admin/users?search=%%20%s%%20", tag);
	ck_assert_int_eq(call("GET", search, staff.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 3);
	json_t *j_results = json_object_get(j, "results");
	json_t *j_first = json_array_get(j_results, 0);
	ck_assert_str_eq(str(j_first, "id"), logged.a.user_id);
	ck_assert_str_eq(str(j_first, "username"), logged.a.username);
	ck_assert_str_eq(str(j_first, "email"), logged.a.email);
	ck_assert(json_is_true(json_object_get(j_first, "is_active")));
	ck_assert(json_is_false(json_object_get(j_first, "is_staff")));
	ck_assert_ptr_nonnull(str(j_first, "date_joined"));
	ck_assert_ptr_nonnull(str(j_first, "last_login"));
	ck_assert_int_eq(json_object_size(j_first), 7);
	json_t *j_second = json_array_get(j_results, 1);
	ck_assert_str_eq(str(j_second, "id"), never.user_id);
	ck_assert(json_is_null(json_object_get(j_second, "last_login")));
	ck_assert_str_eq(str(json_array_get(j_results, 2), "id"), plain.user_id);
	json_decref(j);

	/* % and _ are literal: "a_c" does not match "abc", "a%c" does not match "axyc". */
	test_unique(tag, sizeof(tag), "lit");
	snprintf(under.username, sizeof(under.username), "u_%s", tag);
	snprintf(name, sizeof(name), "uX%s", tag);
	const char *names[] = {under.username, name};
	for (int i = 0; i < 2; i++) {
		snprintf(email, sizeof(email), "%s%s@example.com", i ? "p%q" : "pzzq", tag);
		ck_assert_int_eq(test_post(&ts, "/api/users/register", NULL,
					   json_pack("{s:s,s:s,s:s}", "username", names[i], "email",
						     email, "password", TEST_PASSWORD),
					   &j),
				 201);
		json_decref(j);
	}
	snprintf(search, sizeof(search), "/api/admin/users?search=u_%s", tag);
	ck_assert_int_eq(call("GET", search, staff.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "results"), 0), "username"),
			 under.username);
	json_decref(j);
	snprintf(search, sizeof(search), "/api/admin/users?search=p%%25q%s", tag);
	ck_assert_int_eq(call("GET", search, staff.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "results"), 0), "username"), name);
	json_decref(j);
	/* A backslash is literal too (and no user has one). */
	snprintf(search, sizeof(search), "/api/admin/users?search=%%5C%s", tag);
	ck_assert_int_eq(call("GET", search, staff.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/admin/users?search=%25", staff.access, NULL, &j), 200);
	json_decref(j);

	/* No search, or a blank one: everyone. */
	char *total = test_sql("SELECT count(*) FROM users", NULL, NULL);
	ck_assert_int_eq(call("GET", "/api/admin/users?search=%20", staff.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), atol(total));
	json_decref(j);
	free(total);
	member_free(&staff);
	member_free(&logged);
}
END_TEST

START_TEST(admin_pagination_and_statements)
{
	struct member staff;
	struct test_account a[3];
	char tag[48], path[160], expected[256];
	json_t *j;
	staff_new(&staff);
	test_unique(tag, sizeof(tag), "page");
	for (int i = 0; i < 3; i++)
		test_register(&ts, &a[i], tag);

	snprintf(path, sizeof(path), "/api/admin/users?search=%s&page_size=2", tag);
	ck_assert_int_eq(call("GET", path, staff.access, NULL, &j), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 3);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "results"), 0), "id"), a[0].user_id);
	snprintf(expected, sizeof(expected), "%s/api/admin/users?page=2&page_size=2&search=%s",
		 ts.base, tag);
	ck_assert_str_eq(str(j, "next"), expected);
	ck_assert(json_is_null(json_object_get(j, "previous")));
	json_decref(j);

	snprintf(path, sizeof(path), "/api/admin/users?search=%s&page_size=2&page=2", tag);
	ck_assert_int_eq(call("GET", path, staff.access, NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "results")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "results"), 0), "id"), a[2].user_id);
	ck_assert(json_is_null(json_object_get(j, "next")));
	snprintf(expected, sizeof(expected), "%s/api/admin/users?page_size=2&search=%s", ts.base,
		 tag);
	ck_assert_str_eq(str(j, "previous"), expected);
	json_decref(j);

	snprintf(path, sizeof(path), "/api/admin/users?search=%s&page_size=2&page=3", tag);
	ck_assert_int_eq(call("GET", path, staff.access, NULL, &j), 404);
	assert_detail(j, "not_found", "Invalid page.");
	json_decref(j);

	/* A fixed number of statements, with and without search. */
	ck_assert_uint_eq(statements_for("/api/admin/users?page_size=1", staff.access),
			  statements_for("/api/admin/users?page_size=100", staff.access));
	ck_assert_uint_eq(statements_for("/api/admin/users?page_size=100", staff.access), 2);
	snprintf(path, sizeof(path), "/api/admin/users?search=%s&page_size=1", tag);
	unsigned long small = statements_for(path, staff.access);
	snprintf(path, sizeof(path), "/api/admin/users?search=%s&page_size=100", tag);
	ck_assert_uint_eq(small, statements_for(path, staff.access));
	ck_assert_uint_eq(small, 2);
	member_free(&staff);
}
END_TEST

START_TEST(admin_patch_and_deactivation)
{
	struct member staff, dave;
	char path[128];
	json_t *j;
	staff_new(&staff);
	member_new(&dave, "dave");
	path_of(path, sizeof(path), "/api/admin/users/%s", dave.a.user_id);

	/* Validation: each field its own message, both at once; nothing changes. */
	ck_assert_int_eq(call("PATCH", path, staff.access,
			      json_pack("{s:s,s:n}", "is_active", "maybe", "is_staff"), &j),
			 400);
	ck_assert_str_eq(first_error(j, "is_active"), "Must be a valid boolean.");
	ck_assert_str_eq(first_error(j, "is_staff"), "This field may not be null.");
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, staff.access, json_pack("{s:i}", "is_staff", 2), &j),
			 400);
	ck_assert_str_eq(first_error(j, "is_staff"), "Must be a valid boolean.");
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/users/me", dave.access, NULL, &j), 200);
	json_decref(j);

	/* Unknown user: 404, with a good or a bad body. */
	const char *nobody = "/api/admin/users/00000000-0000-4000-8000-000000000000";
	ck_assert_int_eq(
		call("PATCH", nobody, staff.access, json_pack("{s:b}", "is_active", 0), &j), 404);
	assert_detail(j, "not_found", "Not found.");
	json_decref(j);
	ck_assert_int_eq(
		call("PATCH", nobody, staff.access, json_pack("{s:s}", "is_active", "?"), &j), 404);
	json_decref(j);
	/* A profile id is not a user id. */
	path_of(path, sizeof(path), "/api/admin/users/%s", dave.a.profile_id);
	ck_assert_int_eq(call("PATCH", path, staff.access, json_object(), &j), 404);
	json_decref(j);
	path_of(path, sizeof(path), "/api/admin/users/%s", dave.a.user_id);

	/* An empty PATCH changes nothing and answers the user. */
	ck_assert_int_eq(call("PATCH", path, staff.access, json_object(), &j), 200);
	ck_assert(json_is_true(json_object_get(j, "is_active")));
	json_decref(j);

	/* Deactivate (read-only username ignored). */
	ck_assert_int_eq(call("PATCH", path, staff.access,
			      json_pack("{s:b,s:s}", "is_active", 0, "username", "ignored"), &j),
			 200);
	ck_assert_str_eq(str(j, "id"), dave.a.user_id);
	ck_assert_str_eq(str(j, "username"), dave.a.username);
	ck_assert_str_eq(str(j, "email"), dave.a.email);
	ck_assert(json_is_false(json_object_get(j, "is_active")));
	ck_assert(json_is_false(json_object_get(j, "is_staff")));
	ck_assert_ptr_nonnull(str(j, "last_login"));
	json_decref(j);

	/* The very next request with dave's access token: refused. */
	ck_assert_int_eq(call("GET", "/api/users/me", dave.access, NULL, &j), 401);
	assert_detail(j, "user_inactive", "User is inactive");
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/notes", dave.access, NULL, &j), 401);
	assert_detail(j, "user_inactive", "User is inactive");
	json_decref(j);
	/* ...and the refresh token, and a new login. */
	ck_assert_int_eq(test_post(&ts, "/api/users/token/refresh", NULL,
				   json_pack("{s:s}", "refresh", dave.refresh), &j),
			 401);
	assert_detail(j, "token_not_valid", "Token is blacklisted");
	json_decref(j);
	char *access = NULL, *refresh = NULL;
	ck_assert_int_eq(test_login(&ts, dave.a.username, TEST_PASSWORD, &access, &refresh), 401);

	/* Activated again: a new login works; the old tokens stay dead. */
	ck_assert_int_eq(
		call("PATCH", path, staff.access, json_pack("{s:s}", "is_active", "true"), &j),
		200);
	ck_assert(json_is_true(json_object_get(j, "is_active")));
	json_decref(j);
	ck_assert_int_eq(test_login(&ts, dave.a.username, TEST_PASSWORD, &access, &refresh), 200);
	ck_assert_int_eq(call("GET", "/api/users/me", access, NULL, &j), 200);
	json_decref(j);
	ck_assert_int_eq(test_post(&ts, "/api/users/token/refresh", NULL,
				   json_pack("{s:s}", "refresh", dave.refresh), &j),
			 401);
	json_decref(j);

	/* Made staff: the same token is staff on its next request. */
	ck_assert_int_eq(call("GET", "/api/admin/users", access, NULL, &j), 403);
	json_decref(j);
	ck_assert_int_eq(call("PATCH", path, staff.access, json_pack("{s:b}", "is_staff", 1), &j),
			 200);
	ck_assert(json_is_true(json_object_get(j, "is_staff")));
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/admin/users", access, NULL, &j), 200);
	json_decref(j);
	free(access);
	free(refresh);
	member_free(&staff);
	member_free(&dave);
}
END_TEST

/* The Allow header of each route (on every answer, 405 included), as the Django version sends it. */
START_TEST(allow_headers)
{
	struct member alice;
	struct test_response resp;
	char path[128];
	json_t *j;
	member_new(&alice, "alice");
	const char *id = "00000000-0000-4000-8000-000000000000";
	const struct {
		const char *method, *fmt, *allow;
		long status;
	} cases[] = {
		{"POST", "/api/profiles/%s/messages", "POST, OPTIONS", 404},
		{"GET", "/api/profiles/%s/messages", "POST, OPTIONS", 405},
		{"GET", "/api/inbox", "GET, HEAD, OPTIONS", 200},
		{"GET", "/api/inbox/%s", "GET, DELETE, HEAD, OPTIONS", 404},
		{"PUT", "/api/inbox/%s", "GET, DELETE, HEAD, OPTIONS", 405},
		{"GET", "/api/notes/", "GET, POST, HEAD, OPTIONS", 200},
		{"GET", "/api/notes/%s", "GET, PUT, PATCH, DELETE, HEAD, OPTIONS", 404},
		{"GET", "/api/admin/users", "GET, HEAD, OPTIONS", 403},
		{"PATCH", "/api/admin/users/%s/", "PATCH, OPTIONS", 403},
		{"GET", "/api/admin/users/%s", "PATCH, OPTIONS", 405},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path_of(path, sizeof(path), cases[i].fmt, id);
		ck_assert_int_eq(test_call(&ts, cases[i].method, path, test_bearer(alice.access),
					   "{\"name\": \"x\", \"email\": \"x@example.com\", "
					   "\"subject\": \"s\", \"body\": \"b\"}",
					   &resp, &j),
				 cases[i].status);
		char *allow = test_response_header(&resp, "Allow");
		ck_assert_msg(allow && !strcmp(allow, cases[i].allow), "%s %s: Allow %s",
			      cases[i].method, path, allow ? allow : "(none)");
		free(allow);
		json_decref(j);
		test_response_release(&resp);
	}
	member_free(&alice);
}
END_TEST

Suite *messages_suite(void)
{
	Suite *s = suite_create("messages");
	TCase *tc = tcase_create("messages, notes, staff");
	tcase_add_checked_fixture(tc, messages_up, messages_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, send_anonymous_and_logged_in);
	tcase_add_test(tc, send_validation);
	tcase_add_test(tc, inbox_order_unread_count_and_reading);
	tcase_add_test(tc, inbox_permissions);
	tcase_add_test(tc, inbox_pagination_and_statements);
	tcase_add_test(tc, notes_crud);
	tcase_add_test(tc, notes_are_private);
	tcase_add_test(tc, notes_pagination_and_statements);
	tcase_add_test(tc, deleting_the_favorite_note_clears_it);
	tcase_add_test(tc, admin_permissions);
	tcase_add_test(tc, admin_list_and_search);
	tcase_add_test(tc, admin_pagination_and_statements);
	tcase_add_test(tc, admin_patch_and_deactivation);
	tcase_add_test(tc, allow_headers);
	suite_add_tcase(s, tc);
	return s;
}
