/*
 * Images: the multipart reader on its own; uploads of every
 * format for the account and a project over real HTTP, served back byte for
 * byte; refused uploads (not an image, too large, no file, other media
 * types, someone else's project); removal of replaced files, and of the
 * files of deleted projects and accounts and of image URLs changed by
 * PUT/PATCH (never one still shown, never one not ours); /media path
 * traversal. (`devsearch seed` is tests/test_seed.c's.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/server.h"
#include "serializers/image.h"
#include "support.h"

/* Tiny valid images, 1x1 pixel each. */
static const char PNG[] = "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00"
			  "\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00"
			  "\x0b\x49\x44\x41\x54\x78\xda\x63\x60\x00\x02\x00\x00\x05\x00\x01\xe9\xfa"
			  "\xdc\xd8\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
/* Baseline grayscale: one DC and one AC Huffman code, a single zero block. */
static const char JPEG[] =
	"\xff\xd8\xff\xdb\x00\x43\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	"\x01\x01\x01\x01\x01\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00\xff\xc4\x00\x14"
	"\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xc4\x00\x14"
	"\x10\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xda\x00\x08"
	"\x01\x01\x00\x00\x3f\x00\x3f\xff\xd9";
static const char GIF[] = "\x47\x49\x46\x38\x39\x61\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00"
			  "\x00\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00"
			  "\x00\x02\x02\x44\x01\x00\x3b";
/* Lossless (VP8L). */
static const char WEBP[] =
	"\x52\x49\x46\x46\x1a\x00\x00\x00\x57\x45\x42\x50\x56\x50\x38\x4c\x0d\x00"
	"\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00";

static const struct {
	const char *data;
	size_t len;
	const char *ext, *type;
} FORMATS[] = {
	{PNG, sizeof(PNG) - 1, "png", "image/png"},
	{JPEG, sizeof(JPEG) - 1, "jpg", "image/jpeg"},
	{GIF, sizeof(GIF) - 1, "gif", "image/gif"},
	{WEBP, sizeof(WEBP) - 1, "webp", "image/webp"},
};
#define N_FORMATS (sizeof(FORMATS) / sizeof(FORMATS[0]))

static const char INVALID_IMAGE[] = "Upload a valid image. The file you uploaded was either not an "
				    "image or a corrupted image.";

#define BOUNDARY "----devsearchTestBoundary7MA4YWxkTrZu0gW"
#define FORM_TYPE "multipart/form-data; boundary=" BOUNDARY

static struct test_server ts;
static char media_root[64];

static void media_up(void)
{
	snprintf(media_root, sizeof(media_root), "/tmp/devsearch-media-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(media_root));
	setenv("MEDIA_ROOT", media_root, 1);
	/* Earlier suites' failed logins from 127.0.0.1 must not throttle ours. */
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
	test_server_start(&ts, NULL, 0);
}

static void media_down(void)
{
	char cmd[128];
	test_server_stop(&ts);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", media_root);
	ck_assert_int_eq(system(cmd), 0);
}

/* One part of a form; filename NULL for a plain field. */
static void form_part(struct strbuf *sb, const char *field, const char *filename, const void *data,
		      size_t len)
{
	strbuf_addf(sb, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", BOUNDARY, field);
	if (filename)
		strbuf_addf(sb, "; filename=\"%s\"", filename);
	strbuf_addstr(sb, "\r\nContent-Type: application/octet-stream\r\n\r\n");
	strbuf_add(sb, data, len);
	strbuf_addstr(sb, "\r\n");
}

static void form_end(struct strbuf *sb)
{
	strbuf_addf(sb, "--%s--\r\n", BOUNDARY);
}

/*
 * PUT body (with content_type, NULL for none) to path as token (NULL:
 * anonymous), with one more header line extra (NULL: none).
 */
static long put_body_with(const char *path, const char *token, const char *content_type,
			  const char *extra, const struct strbuf *body, json_t **j)
{
	char auth[4096], type[256], url[1024];
	const char *headers[4] = {extra, NULL, NULL, NULL};
	struct test_response resp;
	int n = extra ? 1 : 0;

	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[n++] = auth;
	}
	if (content_type) {
		snprintf(type, sizeof(type), "Content-Type: %s", content_type);
		headers[n++] = type;
	}
	snprintf(url, sizeof(url), "%s%s", ts.base, path);
	ck_assert_int_eq(test_http("PUT", url, headers, strbuf_str(body), body->len, &resp), 0);
	*j = json_loads(strbuf_str(&resp.body), 0, NULL);
	ck_assert_msg(*j != NULL, "PUT %s: not JSON: %s", path, strbuf_str(&resp.body));
	long status = resp.status;
	test_response_release(&resp);
	return status;
}

static long put_body(const char *path, const char *token, const char *content_type,
		     const struct strbuf *body, json_t **j)
{
	return put_body_with(path, token, content_type, NULL, body, j);
}

/* Upload data as the file field "image" named filename. */
static long upload(const char *path, const char *token, const void *data, size_t len,
		   const char *filename, json_t **j)
{
	struct strbuf body = STRBUF_INIT;
	form_part(&body, "image", filename, data, len);
	form_end(&body);
	long status = put_body(path, token, FORM_TYPE, &body, j);
	strbuf_release(&body);
	return status;
}

static const char *str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* "profiles/<name>" of an image URL, after checking its shape; new string. */
static char *url_rel(const char *url, const char *dir, const char *ext)
{
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s/media/%s/", ts.base, dir);
	ck_assert_msg(url && !strncmp(url, prefix, strlen(prefix)), "unexpected URL %s", url);
	const char *name = url + strlen(prefix);
	ck_assert_uint_eq(strlen(name), 32 + 1 + strlen(ext));
	ck_assert_uint_eq(strspn(name, "0123456789abcdef"), 32);
	ck_assert_str_eq(name + 33, ext);
	return xstrdup(url + strlen(ts.base) + strlen("/media/"));
}

static int stored(const char *rel)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", media_root, rel);
	return stat(path, &st) == 0;
}

/* Files (hidden ones too) in media_root/dir. */
static int count_files(const char *dir)
{
	struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
	char line[64];
	strbuf_addf(&cmd, "ls -A '%s/%s' 2>/dev/null | wc -l", media_root, dir);
	FILE *p = popen(strbuf_str(&cmd), "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	strbuf_release(&cmd);
	strbuf_release(&out);
	return atoi(line);
}

static void assert_header(const struct test_response *resp, const char *name, const char *want)
{
	char *got = test_response_header(resp, name);
	ck_assert_msg(got && !strcmp(got, want), "%s: got %s, want %s", name, got ? got : "none",
		      want);
	free(got);
}

/* GET and HEAD /media/<rel>: the same bytes with their type. */
static void assert_served(const char *rel, const char *type, const void *data, size_t len)
{
	struct test_response resp;
	char path[256], length[24];
	snprintf(path, sizeof(path), "/media/%s", rel);
	snprintf(length, sizeof(length), "%zu", len);

	ck_assert_int_eq(test_call(&ts, "GET", path, NULL, NULL, &resp, NULL), 200);
	assert_header(&resp, "Content-Type", type);
	assert_header(&resp, "X-Content-Type-Options", "nosniff");
	assert_header(&resp, "Content-Length", length);
	ck_assert_uint_eq(resp.body.len, len);
	ck_assert(memcmp(resp.body.buf, data, len) == 0);
	test_response_release(&resp);

	ck_assert_int_eq(test_call(&ts, "HEAD", path, NULL, NULL, &resp, NULL), 200);
	assert_header(&resp, "Content-Type", type);
	assert_header(&resp, "Content-Length", length);
	ck_assert_uint_eq(resp.body.len, 0);
	test_response_release(&resp);
}

static long media_status(const char *rel)
{
	struct test_response resp;
	char path[256];
	snprintf(path, sizeof(path), "/media/%s", rel);
	long status = test_call(&ts, "GET", path, NULL, NULL, &resp, NULL);
	test_response_release(&resp);
	return status;
}

/* A registered, logged-in user. */
struct person {
	struct test_account a;
	char *access;
};

static void person_init(struct person *u, const char *prefix)
{
	char *refresh;
	test_register(&ts, &u->a, prefix);
	ck_assert_int_eq(test_login(&ts, u->a.username, TEST_PASSWORD, &u->access, &refresh), 200);
	free(refresh);
}

static void person_release(struct person *u)
{
	free(u->access);
}

/* A project owned by profile_id (NULL: no owner); its id, new string. */
static char *project_create(const char *profile_id, const char *title)
{
	char *id = profile_id ? test_sql("INSERT INTO projects (owner_id, title) VALUES ($1, $2) "
					 "RETURNING id",
					 profile_id, title)
			      : test_sql("INSERT INTO projects (title) VALUES ($1) RETURNING id",
					 title, NULL);
	ck_assert_ptr_nonnull(id);
	return id;
}

static void project_path(char *out, size_t size, const char *id)
{
	snprintf(out, size, "/api/projects/%s/image", id);
}

START_TEST(account_upload_every_format)
{
	struct person alice;
	char *previous = NULL;
	json_t *j;
	person_init(&alice, "imgacct");

	for (size_t i = 0; i < N_FORMATS; i++) {
		ck_assert_int_eq(upload("/api/account/image", alice.access, FORMATS[i].data,
					FORMATS[i].len, "picture.bin", &j),
				 200);
		/* The caller's own profile, as GET /api/account shows it. */
		ck_assert_str_eq(str(j, "id"), alice.a.profile_id);
		ck_assert_str_eq(str(j, "email"), alice.a.email);
		ck_assert(json_is_array(json_object_get(j, "skills")));
		char *rel = url_rel(str(j, "profile_image"), "profiles", FORMATS[i].ext);
		json_decref(j);
		assert_served(rel, FORMATS[i].type, FORMATS[i].data, FORMATS[i].len);
		ck_assert(stored(rel));
		/* The replaced file is gone, from disk and from /media. */
		if (previous) {
			ck_assert(!stored(previous));
			ck_assert_int_eq(media_status(previous), 404);
		}
		free(previous);
		previous = rel;
	}
	ck_assert_int_eq(count_files("profiles"), 1);
	char *url = test_sql("SELECT profile_image FROM profiles WHERE id = $1", alice.a.profile_id,
			     NULL);
	ck_assert_ptr_nonnull(strstr(url, previous));
	free(url);
	free(previous);
	person_release(&alice);
}
END_TEST

START_TEST(project_upload_every_format)
{
	struct person alice, bob;
	char path[128], *previous = NULL;
	json_t *j;
	person_init(&alice, "imgprja");
	person_init(&bob, "imgprjb");
	char *project = project_create(alice.a.profile_id, "Pictures in C");
	char *tag = test_sql("INSERT INTO tags (name) VALUES ($1) RETURNING id", alice.a.username,
			     NULL);
	free(test_sql("INSERT INTO project_tags (project_id, tag_id) VALUES ($1, $2)", project,
		      tag));
	free(test_sql("INSERT INTO reviews (owner_id, project_id, value, body) "
		      "VALUES ($1, $2, 'up', 'Nice!')",
		      bob.a.profile_id, project));
	project_path(path, sizeof(path), project);

	for (size_t i = 0; i < N_FORMATS; i++) {
		/* The client's file name is never used. */
		ck_assert_int_eq(upload(path, alice.access, FORMATS[i].data, FORMATS[i].len,
					"../../evil.php", &j),
				 200);
		ck_assert_str_eq(str(j, "id"), project);
		ck_assert_str_eq(str(j, "title"), "Pictures in C");
		ck_assert_int_eq(json_integer_value(json_object_get(j, "vote_total")), 1);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "vote_ratio")), 100);
		json_t *j_owner = json_object_get(j, "owner");
		ck_assert_str_eq(str(j_owner, "id"), alice.a.profile_id);
		ck_assert_str_eq(str(j_owner, "username"), alice.a.username);
		ck_assert_ptr_nonnull(json_object_get(j_owner, "profile_image"));
		ck_assert_uint_eq(json_array_size(json_object_get(j, "tags")), 1);
		ck_assert_str_eq(str(json_array_get(json_object_get(j, "tags"), 0), "id"), tag);
		json_t *j_review = json_array_get(json_object_get(j, "reviews"), 0);
		ck_assert_str_eq(str(json_object_get(j_review, "owner"), "id"), bob.a.profile_id);
		ck_assert_str_eq(str(j_review, "value"), "up");
		char *rel = url_rel(str(j, "featured_image"), "projects", FORMATS[i].ext);
		json_decref(j);
		assert_served(rel, FORMATS[i].type, FORMATS[i].data, FORMATS[i].len);
		if (previous)
			ck_assert(!stored(previous));
		free(previous);
		previous = rel;
	}
	ck_assert_int_eq(count_files("projects"), 1);
	free(previous);
	free(project);
	free(tag);
	person_release(&alice);
	person_release(&bob);
}
END_TEST

START_TEST(project_upload_permissions)
{
	struct person alice, bob, staff;
	char path[128];
	json_t *j;
	person_init(&alice, "imgperma");
	person_init(&bob, "imgpermb");
	person_init(&staff, "imgperms");
	free(test_sql("UPDATE users SET is_staff = true WHERE id = $1", staff.a.user_id, NULL));
	char *project = project_create(alice.a.profile_id, "Not yours");
	char *orphan = project_create(NULL, "Nobody's");
	project_path(path, sizeof(path), project);

	/* Someone else: 403, even with a file that is not an image; nothing stored. */
	ck_assert_int_eq(upload(path, bob.access, PNG, sizeof(PNG) - 1, "a.png", &j), 403);
	ck_assert_str_eq(str(j, "code"), "permission_denied");
	ck_assert_str_eq(str(j, "detail"), "You do not have permission to perform this action.");
	json_decref(j);
	ck_assert_int_eq(upload(path, bob.access, "text", 4, "a.png", &j), 403);
	json_decref(j);
	/* Anonymous: 401. */
	ck_assert_int_eq(upload(path, NULL, PNG, sizeof(PNG) - 1, "a.png", &j), 401);
	ck_assert_str_eq(str(j, "code"), "not_authenticated");
	json_decref(j);
	ck_assert_int_eq(upload("/api/account/image", NULL, PNG, sizeof(PNG) - 1, "a.png", &j),
			 401);
	json_decref(j);
	/* Unknown project: 404; not a UUID: 404. */
	ck_assert_int_eq(upload("/api/projects/11111111-1111-4111-8111-111111111111/image",
				alice.access, PNG, sizeof(PNG) - 1, "a.png", &j),
			 404);
	json_decref(j);
	ck_assert_int_eq(
		upload("/api/projects/42/image", alice.access, PNG, sizeof(PNG) - 1, "a.png", &j),
		404);
	json_decref(j);
	ck_assert_int_eq(count_files("projects"), 0);
	char *url = test_sql("SELECT featured_image FROM projects WHERE id = $1", project, NULL);
	ck_assert_str_eq(url, "");
	free(url);

	/* Staff may change any project, one without an owner too. */
	ck_assert_int_eq(upload(path, staff.access, GIF, sizeof(GIF) - 1, "a.gif", &j), 200);
	free(url_rel(str(j, "featured_image"), "projects", "gif"));
	json_decref(j);
	project_path(path, sizeof(path), orphan);
	ck_assert_int_eq(upload(path, alice.access, GIF, sizeof(GIF) - 1, "a.gif", &j), 403);
	json_decref(j);
	ck_assert_int_eq(upload(path, staff.access, GIF, sizeof(GIF) - 1, "a.gif", &j), 200);
	ck_assert(json_is_null(json_object_get(j, "owner")));
	json_decref(j);
	free(project);
	free(orphan);
	person_release(&alice);
	person_release(&bob);
	person_release(&staff);
}
END_TEST

static void assert_image_error(json_t *j, const char *message)
{
	json_t *j_list = json_object_get(j, "image");
	ck_assert_uint_eq(json_object_size(j), 1);
	ck_assert_uint_eq(json_array_size(j_list), 1);
	ck_assert_str_eq(json_string_value(json_array_get(j_list, 0)), message);
}

START_TEST(refused_uploads)
{
	struct person alice;
	struct strbuf body = STRBUF_INIT;
	json_t *j;
	person_init(&alice, "imgbad");

	/* Text named .png: the content decides. Truncated magic bytes too. */
	ck_assert_int_eq(upload("/api/account/image", alice.access, "just some notes\n", 16,
				"notes.png", &j),
			 400);
	assert_image_error(j, INVALID_IMAGE);
	json_decref(j);
	ck_assert_int_eq(upload("/api/account/image", alice.access, PNG, 5, "a.png", &j), 400);
	assert_image_error(j, INVALID_IMAGE);
	json_decref(j);
	ck_assert_int_eq(upload("/api/account/image", alice.access, "", 0, "empty.png", &j), 400);
	assert_image_error(j, INVALID_IMAGE);
	json_decref(j);

	/* No "image" file: another field name, a plain field, an empty file name, no body. */
	form_part(&body, "file", "tiny.png", PNG, sizeof(PNG) - 1);
	form_part(&body, "image", NULL, PNG, sizeof(PNG) - 1);
	form_part(&body, "image", "", PNG, sizeof(PNG) - 1);
	form_end(&body);
	ck_assert_int_eq(put_body("/api/account/image", alice.access, FORM_TYPE, &body, &j), 400);
	assert_image_error(j, "No file was submitted.");
	json_decref(j);
	strbuf_reset(&body);
	ck_assert_int_eq(put_body("/api/account/image", alice.access, FORM_TYPE, &body, &j), 400);
	assert_image_error(j, "No file was submitted.");
	json_decref(j);

	/* Not multipart: 415, as DRF words it. */
	strbuf_addstr(&body, "{\"image\": \"x\"}");
	ck_assert_int_eq(
		put_body("/api/account/image", alice.access, "application/json", &body, &j), 415);
	ck_assert_str_eq(str(j, "code"), "unsupported_media_type");
	ck_assert_str_eq(str(j, "detail"),
			 "Unsupported media type \"application/json\" in request.");
	json_decref(j);

	/* Broken multipart: 400 parse errors, never a 500. */
	ck_assert_int_eq(
		put_body("/api/account/image", alice.access, "multipart/form-data", &body, &j),
		400);
	ck_assert_str_eq(str(j, "code"), "parse_error");
	ck_assert_str_eq(str(j, "detail"),
			 "Multipart form parse error - Invalid boundary in multipart: None");
	json_decref(j);
	strbuf_reset(&body);
	strbuf_addf(&body,
		    "--%s\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
		    "\r\n",
		    BOUNDARY);
	strbuf_add(&body, PNG, sizeof(PNG) - 1);
	ck_assert_int_eq(put_body("/api/account/image", alice.access, FORM_TYPE, &body, &j), 400);
	ck_assert_str_eq(str(j, "code"), "parse_error");
	json_decref(j);

	/* Nothing was stored, nothing changed. */
	ck_assert_int_eq(count_files("profiles"), 0);
	char *url = test_sql("SELECT profile_image FROM profiles WHERE id = $1", alice.a.profile_id,
			     NULL);
	ck_assert_str_eq(url, "");
	free(url);
	strbuf_release(&body);
	person_release(&alice);
}
END_TEST

START_TEST(oversized_uploads_are_413)
{
	struct person alice;
	struct strbuf body = STRBUF_INIT;
	size_t len = (size_t)IMAGE_MAX_BYTES + 1;
	char *big = xcalloc(1, len + 1024 * 1024);
	json_t *j;
	person_init(&alice, "imgbig");
	memcpy(big, PNG, sizeof(PNG) - 1);

	/* Exactly the limit is fine. */
	ck_assert_int_eq(upload("/api/account/image", alice.access, big, len - 1, "big.png", &j),
			 200);
	json_decref(j);
	/* One byte more: the file is too large. */
	ck_assert_int_eq(upload("/api/account/image", alice.access, big, len, "big.png", &j), 413);
	ck_assert_str_eq(str(j, "code"), "payload_too_large");
	ck_assert_str_eq(str(j, "detail"), "The image is larger than 5242880 bytes.");
	json_decref(j);
	/* A body far over the upload route's limit: refused before the handler. */
	ck_assert_int_eq(upload("/api/account/image", alice.access, big, len + 1024 * 1024 - 1,
				"big.png", &j),
			 413);
	ck_assert_str_eq(str(j, "detail"), "Request body is too large.");
	json_decref(j);
	/* Other routes keep MAX_BODY_BYTES (1 MiB). */
	strbuf_add(&body, big, 2 * 1024 * 1024);
	ck_assert_int_eq(
		put_body("/api/users/password/change", alice.access, "application/json", &body, &j),
		413);
	json_decref(j);
	ck_assert_int_eq(count_files("profiles"), 1);
	strbuf_release(&body);
	free(big);
	person_release(&alice);
}
END_TEST

START_TEST(replaced_file_still_used_elsewhere_is_kept)
{
	struct person alice, bob;
	json_t *j;
	person_init(&alice, "imgkeepa");
	person_init(&bob, "imgkeepb");

	ck_assert_int_eq(
		upload("/api/account/image", alice.access, PNG, sizeof(PNG) - 1, "a.png", &j), 200);
	char *first = url_rel(str(j, "profile_image"), "profiles", "png");
	/* Bob points his profile at Alice's picture (any URL is allowed there). */
	free(test_sql("UPDATE profiles SET profile_image = $2 WHERE id = $1", bob.a.profile_id,
		      str(j, "profile_image")));
	json_decref(j);
	ck_assert_int_eq(
		upload("/api/account/image", alice.access, GIF, sizeof(GIF) - 1, "a.gif", &j), 200);
	json_decref(j);
	ck_assert(stored(first));
	assert_served(first, "image/png", PNG, sizeof(PNG) - 1);

	/* Bob replaces his picture: nobody points at Alice's first one any more, so it goes. */
	ck_assert_int_eq(
		upload("/api/account/image", bob.access, JPEG, sizeof(JPEG) - 1, "b.jpg", &j), 200);
	json_decref(j);
	ck_assert(!stored(first));
	ck_assert_int_eq(count_files("profiles"), 2);
	free(first);
	person_release(&alice);
	person_release(&bob);
}
END_TEST

static void *upload_thread(void *arg)
{
	json_t *j;
	long status = upload("/api/account/image", arg, PNG, sizeof(PNG) - 1, "a.png", &j);
	json_decref(j);
	return (void *)(intptr_t)status;
}

START_TEST(concurrent_uploads_leave_one_file)
{
	struct person alice;
	pthread_t threads[6];
	void *status;
	person_init(&alice, "imgrace");
	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, upload_thread, alice.access), 0);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_int_eq(pthread_join(threads[i], &status), 0);
		ck_assert_int_eq((intptr_t)status, 200);
	}
	/* Each upload replaced the one before it under the row lock: one file is left, the current one. */
	ck_assert_int_eq(count_files("profiles"), 1);
	char *url = test_sql("SELECT profile_image FROM profiles WHERE id = $1", alice.a.profile_id,
			     NULL);
	char *rel = url_rel(url, "profiles", "png");
	ck_assert(stored(rel));
	free(rel);
	free(url);
	person_release(&alice);
}
END_TEST

/* method path as token with a JSON body (stolen, may be NULL); the status. */
static long send_as(const char *method, const char *path, const char *token, json_t *j_body)
{
	json_t *j = NULL;
	long status = test_send(&ts, method, path, test_bearer(token), j_body, &j);
	json_decref(j);
	return status;
}

/* Upload the PNG as project's featured image; the stored "projects/<name>", new string. */
static char *project_image(const char *project, const char *token)
{
	char path[128];
	json_t *j;
	project_path(path, sizeof(path), project);
	ck_assert_int_eq(upload(path, token, PNG, sizeof(PNG) - 1, "a.png", &j), 200);
	char *rel = url_rel(str(j, "featured_image"), "projects", "png");
	json_decref(j);
	return rel;
}

/* Upload the PNG as the caller's profile image; the stored "profiles/<name>", new string. */
static char *account_image(const char *token)
{
	json_t *j;
	ck_assert_int_eq(upload("/api/account/image", token, PNG, sizeof(PNG) - 1, "a.png", &j),
			 200);
	char *rel = url_rel(str(j, "profile_image"), "profiles", "png");
	json_decref(j);
	return rel;
}

START_TEST(deleted_project_takes_its_image)
{
	struct person alice, bob;
	char path[128];
	person_init(&alice, "imgdelp");
	person_init(&bob, "imgdelq");
	char *project = project_create(alice.a.profile_id, "Short-lived");
	char *rel = project_image(project, alice.access);
	snprintf(path, sizeof(path), "/api/projects/%s", project);

	/* A delete that is refused keeps the file. */
	ck_assert_int_eq(send_as("DELETE", path, bob.access, NULL), 403);
	ck_assert(stored(rel));
	ck_assert_int_eq(send_as("DELETE", path, alice.access, NULL), 204);
	ck_assert(!stored(rel));
	ck_assert_int_eq(media_status(rel), 404);
	ck_assert_int_eq(count_files("projects"), 0);
	free(rel);
	free(project);
	person_release(&alice);
	person_release(&bob);
}
END_TEST

START_TEST(deleted_account_takes_its_profile_image)
{
	struct person alice, staff;
	char path[128];
	person_init(&alice, "imgdela");
	person_init(&staff, "imgdels");
	free(test_sql("UPDATE users SET is_staff = true WHERE id = $1", staff.a.user_id, NULL));
	char *first = project_create(alice.a.profile_id, "First");
	char *second = project_create(alice.a.profile_id, "Second");
	char *picture = account_image(alice.access);
	char *first_rel = project_image(first, alice.access);
	char *second_rel = project_image(second, alice.access);

	ck_assert_int_eq(send_as("DELETE", "/api/account", alice.access, NULL), 204);
	ck_assert(!stored(picture));
	ck_assert_int_eq(count_files("profiles"), 0);
	/* The projects stay (owner null, API.md), and so do the images they show. */
	char *owner = test_sql(
		"SELECT coalesce(owner_id::text, 'none') FROM projects WHERE id = $1", first, NULL);
	ck_assert_str_eq(owner, "none");
	free(owner);
	ck_assert(stored(first_rel));
	ck_assert(stored(second_rel));
	/* Deleting one of them (staff may) takes its image. */
	snprintf(path, sizeof(path), "/api/projects/%s", first);
	ck_assert_int_eq(send_as("DELETE", path, staff.access, NULL), 204);
	ck_assert(!stored(first_rel));
	ck_assert(stored(second_rel));
	free(picture);
	free(first_rel);
	free(second_rel);
	free(first);
	free(second);
	person_release(&alice);
	person_release(&staff);
}
END_TEST

START_TEST(images_still_shown_or_not_ours_are_kept)
{
	struct person alice;
	char path[128], url[256], file[256];
	person_init(&alice, "imgshare");
	char *a = project_create(alice.a.profile_id, "Original");
	char *b = project_create(alice.a.profile_id, "Copy");
	char *c = project_create(alice.a.profile_id, "Hand-made");
	char *rel = project_image(a, alice.access);
	char *a_url = test_sql("SELECT featured_image FROM projects WHERE id = $1", a, NULL);
	/* Project b shows a's file (any URL is allowed there). */
	free(test_sql("UPDATE projects SET featured_image = $2 WHERE id = $1", b, a_url));

	snprintf(path, sizeof(path), "/api/projects/%s", a);
	ck_assert_int_eq(send_as("DELETE", path, alice.access, NULL), 204);
	ck_assert(stored(rel));
	snprintf(path, sizeof(path), "/api/projects/%s", b);
	ck_assert_int_eq(send_as("DELETE", path, alice.access, NULL), 204);
	ck_assert(!stored(rel));

	/* A file under MEDIA_ROOT with a name the server does not make is never touched. */
	snprintf(file, sizeof(file), "%s/projects/hand-made.png", media_root);
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	snprintf(url, sizeof(url), "%s/media/projects/hand-made.png", ts.base);
	free(test_sql("UPDATE projects SET featured_image = $2 WHERE id = $1", c, url));
	snprintf(path, sizeof(path), "/api/projects/%s", c);
	ck_assert_int_eq(send_as("DELETE", path, alice.access, NULL), 204);
	ck_assert(stored("projects/hand-made.png"));
	free(a_url);
	free(rel);
	free(a);
	free(b);
	free(c);
	person_release(&alice);
}
END_TEST

START_TEST(changed_image_urls_release_files)
{
	struct person alice, bob;
	char path[128];
	person_init(&alice, "imgurla");
	person_init(&bob, "imgurlb");
	char *project = project_create(alice.a.profile_id, "Pictured");
	char *picture = account_image(alice.access);
	char *rel = project_image(project, alice.access);
	snprintf(path, sizeof(path), "/api/projects/%s", project);

	/* Updates that leave the image alone keep it; so does one that fails (400). */
	ck_assert_int_eq(send_as("PATCH", path, alice.access, json_pack("{s:s}", "title", "New")),
			 200);
	ck_assert(stored(rel));
	ck_assert_int_eq(
		send_as("PATCH", "/api/account", alice.access,
			json_pack("{s:s, s:s}", "profile_image", "", "username", bob.a.username)),
		400);
	ck_assert(stored(picture));
	ck_assert_int_eq(send_as("PATCH", "/api/account", alice.access,
				 json_pack("{s:s}", "location", "Utrecht")),
			 200);
	ck_assert(stored(picture));

	/* Cleared or pointed elsewhere: the file goes. */
	ck_assert_int_eq(send_as("PATCH", "/api/account", alice.access,
				 json_pack("{s:s}", "profile_image", "")),
			 200);
	ck_assert(!stored(picture));
	ck_assert_int_eq(send_as("PATCH", path, alice.access,
				 json_pack("{s:s}", "featured_image", "https://example.com/x.png")),
			 200);
	ck_assert(!stored(rel));
	char *url = test_sql("SELECT featured_image FROM projects WHERE id = $1", project, NULL);
	ck_assert_str_eq(url, "https://example.com/x.png");
	free(url);
	free(picture);
	free(rel);
	free(project);
	person_release(&alice);
	person_release(&bob);
}
END_TEST

/* A raw request, so that the path reaches the server exactly as written. */
static long raw_get(const char *path)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)server_port(ts.server)),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval timeout = {10, 0};
	struct strbuf request = STRBUF_INIT, answer = STRBUF_INIT;
	char chunk[4096];
	ssize_t n;
	long status = -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	ck_assert(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	strbuf_addf(&request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		    path);
	ck_assert(write(fd, request.buf, request.len) == (ssize_t)request.len);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		strbuf_add(&answer, chunk, (size_t)n);
	close(fd);
	sscanf(strbuf_str(&answer), "HTTP/1.1 %ld", &status);
	if (status == 404)
		ck_assert_ptr_nonnull(strstr(strbuf_str(&answer), "\"code\":\"not_found\""));
	strbuf_release(&request);
	strbuf_release(&answer);
	return status;
}

START_TEST(media_stays_inside_media_root)
{
	struct person alice;
	char path[512], target[256], link[256];
	json_t *j;
	person_init(&alice, "imgtrav");
	ck_assert_int_eq(
		upload("/api/account/image", alice.access, PNG, sizeof(PNG) - 1, "a.png", &j), 200);
	char *rel = url_rel(str(j, "profile_image"), "profiles", "png");
	json_decref(j);
	const char *name = rel + strlen("profiles/");

	snprintf(path, sizeof(path), "/media/%s", rel);
	ck_assert_int_eq(raw_get(path), 200);
	const char *const attempts[] = {
		"/media/../sql/0001_initial.up.sql",
		"/media/profiles/../../sql/0001_initial.up.sql",
		"/media/%2e%2e/sql/0001_initial.up.sql",
		"/media/%2e%2e%2fsql%2f0001_initial.up.sql",
		"/media/..%2fsql/0001_initial.up.sql",
		"/media//etc/passwd",
		"/media/%2fetc%2fpasswd",
		"/media/profiles/../../../../../../etc/passwd",
		"/media/./profiles/x.png",
		"/media/profiles",
		"/media/profiles/",
		"/media/profiles/.hidden.png",
		"/media/profiles\\..\\..\\etc\\passwd",
	};
	for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++)
		ck_assert_msg(raw_get(attempts[i]) == 404, "%s was not a 404", attempts[i]);
	snprintf(path, sizeof(path), "/media/profiles/./%s", name);
	ck_assert_int_eq(raw_get(path), 404);
	snprintf(path, sizeof(path), "/media/projects/../%s", rel);
	ck_assert_int_eq(raw_get(path), 404);

	/* A symbolic link out of MEDIA_ROOT is refused; one inside it is followed. */
	snprintf(link, sizeof(link), "%s/profiles/outside.png", media_root);
	ck_assert_int_eq(symlink(test_env("DEVSEARCH_SQL_DIR"), link), 0);
	ck_assert_int_eq(raw_get("/media/profiles/outside.png"), 404);
	snprintf(link, sizeof(link), "%s/profiles/passwd", media_root);
	ck_assert_int_eq(symlink("/etc/passwd", link), 0);
	ck_assert_int_eq(raw_get("/media/profiles/passwd"), 404);
	snprintf(target, sizeof(target), "%s/%s", media_root, rel);
	snprintf(link, sizeof(link), "%s/profiles/alias.png", media_root);
	ck_assert_int_eq(symlink(target, link), 0);
	assert_served("profiles/alias.png", "image/png", PNG, sizeof(PNG) - 1);
	free(rel);
	person_release(&alice);
}
END_TEST

/* The multipart reader on its own: no server. */
static enum multipart_result parse(const char *content_type, const char *body,
				   struct multipart_file *file)
{
	const char *reason;
	return multipart_find_file(content_type, body, strlen(body), "image", file, &reason);
}

static void assert_file(const struct multipart_file *file, const char *want)
{
	ck_assert(file->found);
	ck_assert_uint_eq(file->len, strlen(want));
	ck_assert(memcmp(file->data, want, file->len) == 0);
}

/* As a server behind a TLS-terminating proxy on 127.0.0.1 sees its requests. */
static void media_up_behind_proxy(void)
{
	setenv("TRUSTED_PROXIES", "127.0.0.1", 1);
	media_up();
}

/* Upload the PNG to the account as alice, through a proxy that says the client used https. */
static char *upload_over_https(const struct person *alice)
{
	struct strbuf body = STRBUF_INIT;
	char prefix[128];
	json_t *j;

	form_part(&body, "image", "a.png", PNG, sizeof(PNG) - 1);
	form_end(&body);
	ck_assert_int_eq(put_body_with("/api/account/image", alice->access, FORM_TYPE,
				       "X-Forwarded-Proto: https", &body, &j),
			 200);
	strbuf_release(&body);
	/* As Django's request.build_absolute_uri() behind SECURE_PROXY_SSL_HEADER. */
	snprintf(prefix, sizeof(prefix), "https://%s/media/profiles/", ts.base + strlen("http://"));
	const char *url = str(j, "profile_image");
	ck_assert_msg(url && !strncmp(url, prefix, strlen(prefix)), "URL %s", url ? url : "null");
	char *rel = xstrdup(url + strlen(prefix) - strlen("profiles/"));
	json_decref(j);
	return rel;
}

START_TEST(upload_behind_a_tls_proxy_stores_an_https_url)
{
	struct person alice;
	person_init(&alice, "imgproxy");

	char *first = upload_over_https(&alice);
	ck_assert(stored(first));
	/* Stored as the client saw it, as the Django version stores build_absolute_uri()'s. */
	char want[256];
	snprintf(want, sizeof(want), "https://%s/media/%s", ts.base + strlen("http://"), first);
	char *url = test_sql("SELECT profile_image FROM profiles WHERE id = $1", alice.a.profile_id,
			     NULL);
	ck_assert_str_eq(url, want);
	free(url);
	/* The https URL still names our file: replacing the image removes it. */
	char *second = upload_over_https(&alice);
	ck_assert(!stored(first));
	ck_assert(stored(second));
	ck_assert_int_eq(count_files("profiles"), 1);
	free(first);
	free(second);
	person_release(&alice);
}
END_TEST

START_TEST(multipart_reader)
{
	struct multipart_file f;

	/* Preamble, quoted boundary, other fields, epilogue. */
	ck_assert_int_eq(
		parse("multipart/form-data; charset=utf-8; boundary=\"b;1\"",
		      "preamble\r\n--b;1\r\ncontent-disposition: form-data; name=\"title\"\r\n\r\n"
		      "x\r\n--b;1\r\nContent-Disposition: form-data; name=\"image\"; "
		      "filename=\"a \\\"q\\\".png\"\r\nContent-Type: image/png\r\n\r\n"
		      "DATA\r\n--b;1--\r\nepilogue",
		      &f),
		MULTIPART_OK);
	assert_file(&f, "DATA");
	/* Bare LF line breaks; content holding CRLF and a boundary-like text mid-line. */
	ck_assert_int_eq(parse("Multipart/Form-Data;boundary=zz",
			       "--zz\nContent-Disposition: form-data; name=image; filename=a\n\n"
			       "a\r\nb --zz c\n--zz--",
			       &f),
			 MULTIPART_OK);
	assert_file(&f, "a\r\nb --zz c");
	/* Empty content, and the last of two image files wins. */
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz",
			       "--zz\r\nContent-Disposition: form-data; name=\"image\"; "
			       "filename=\"1\"\r\n\r\n\r\n--zz\r\nContent-Disposition: form-data; "
			       "name=\"image\"; filename=\"2\"\r\n\r\nsecond\r\n--zz--\r\n",
			       &f),
			 MULTIPART_OK);
	assert_file(&f, "second");
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz",
			       "--zz\r\nContent-Disposition: form-data; name=\"image\"; "
			       "filename=\"1\"\r\n\r\n--zz--\r\n",
			       &f),
			 MULTIPART_OK);
	assert_file(&f, "");
	/* name="images" is not "image"; no delimiter at all is no parts. */
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz",
			       "--zz\r\nContent-Disposition: form-data; name=\"images\"; "
			       "filename=\"1\"\r\n\r\nx\r\n--zz--\r\n",
			       &f),
			 MULTIPART_OK);
	ck_assert(!f.found);
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz", "no parts here", &f),
			 MULTIPART_OK);
	ck_assert(!f.found);

	/* Errors. */
	ck_assert_int_eq(parse("text/plain; boundary=zz", "--zz--", &f), MULTIPART_NOT_MULTIPART);
	ck_assert_int_eq(parse("multipart/form-datax; boundary=zz", "--zz--", &f),
			 MULTIPART_NOT_MULTIPART);
	ck_assert_int_eq(parse("multipart/form-data", "--zz--", &f), MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(parse("multipart/form-data; boundary=", "--zz--", &f),
			 MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(parse("multipart/form-data; boundary=\"zz", "--zz--", &f),
			 MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz",
			       "--zz\r\nContent-Disposition: form-data; name=\"image\"; "
			       "filename=\"1\"\r\n\r\nno end",
			       &f),
			 MULTIPART_MALFORMED);
	ck_assert(!f.found);
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz",
			       "--zz\r\nContent-Disposition: form-data; name=\"image", &f),
			 MULTIPART_MALFORMED);
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz",
			       "--zz\r\nContent-Disposition: form-data; name=\"image\r\n\r\nx\r\n"
			       "--zz--",
			       &f),
			 MULTIPART_MALFORMED);
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz", "--zzjunk", &f),
			 MULTIPART_MALFORMED);
	ck_assert_int_eq(parse("multipart/form-data; boundary=zz", "--zz", &f),
			 MULTIPART_MALFORMED);

	/* Every prefix of a valid body is handled without reading past it (ASan watches). */
	const char *whole = "--zz\r\nContent-Disposition: form-data; name=\"image\"; "
			    "filename=\"1\"\r\n\r\nbytes\r\n--zz--\r\n";
	for (size_t n = 0; n <= strlen(whole); n++) {
		char *copy = xmalloc(n ? n : 1);
		const char *reason;
		memcpy(copy, whole, n);
		multipart_find_file("multipart/form-data; boundary=zz", copy, n, "image", &f,
				    &reason);
		free(copy);
	}
}
END_TEST

START_TEST(image_types_from_content)
{
	for (size_t i = 0; i < N_FORMATS; i++) {
		enum image_type t =
			image_sniff((const unsigned char *)FORMATS[i].data, FORMATS[i].len);
		ck_assert_str_eq(image_extension(t), FORMATS[i].ext);
		char name[16];
		snprintf(name, sizeof(name), "x.%s", FORMATS[i].ext);
		ck_assert_str_eq(image_content_type(name), FORMATS[i].type);
	}
	ck_assert_int_eq(image_sniff((const unsigned char *)"GIF87a", 6), IMAGE_GIF);
	ck_assert_int_eq(image_sniff((const unsigned char *)"GIF88a", 6), IMAGE_NONE);
	ck_assert_int_eq(image_sniff((const unsigned char *)"RIFF\0\0\0\0WAVE", 12), IMAGE_NONE);
	ck_assert_int_eq(image_sniff((const unsigned char *)"RIFF\0\0\0\0WEB", 11), IMAGE_NONE);
	ck_assert_int_eq(image_sniff((const unsigned char *)"<svg", 4), IMAGE_NONE);
	ck_assert_int_eq(image_sniff((const unsigned char *)"", 0), IMAGE_NONE);
	ck_assert_str_eq(image_content_type("x/a.JPEG"), "image/jpeg");
	ck_assert_str_eq(image_content_type("a.html"), "application/octet-stream");
	ck_assert_str_eq(image_content_type("png"), "application/octet-stream");
}
END_TEST

Suite *images_suite(void)
{
	Suite *s = suite_create("images");
	TCase *tc = tcase_create("uploads");
	tcase_add_checked_fixture(tc, media_up, media_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, account_upload_every_format);
	tcase_add_test(tc, project_upload_every_format);
	tcase_add_test(tc, project_upload_permissions);
	tcase_add_test(tc, refused_uploads);
	tcase_add_test(tc, oversized_uploads_are_413);
	tcase_add_test(tc, replaced_file_still_used_elsewhere_is_kept);
	tcase_add_test(tc, concurrent_uploads_leave_one_file);
	tcase_add_test(tc, deleted_project_takes_its_image);
	tcase_add_test(tc, deleted_account_takes_its_profile_image);
	tcase_add_test(tc, images_still_shown_or_not_ours_are_kept);
	tcase_add_test(tc, changed_image_urls_release_files);
	tcase_add_test(tc, media_stays_inside_media_root);
	suite_add_tcase(s, tc);

	tc = tcase_create("proxy");
	tcase_add_checked_fixture(tc, media_up_behind_proxy, media_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, upload_behind_a_tls_proxy_stores_an_https_url);
	suite_add_tcase(s, tc);

	tc = tcase_create("formats");
	tcase_add_test(tc, multipart_reader);
	tcase_add_test(tc, image_types_from_content);
	suite_add_tcase(s, tc);
	return s;
}
