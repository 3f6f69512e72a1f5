/*
 * Note routes: the caller's own notes only, status codes and Location.
 * Bodies are read by serializers/note.c, SQL is in models/note.c.
 */
#include "api/notes.h"

#include <stdlib.h>

#include "api/pagination.h"
#include "models/note.h"
#include "serializers/fields.h"
#include "serializers/note.h"

static void get_notes(struct http_ctx *ctx)
{
	struct page_request page;
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	json_t *j_results = NULL;
	long count;
	enum app_err err;

	if (page_request_or_reply(ctx, &page) || http_db_or_reply(ctx, &conn))
		return;
	err = note_list(conn, ctx->user.profile_id, page.limit, page.offset, &res);
	if (err != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	j_results = note_list_to_json(res, &count);
	if (page_check_or_reply(ctx, &page, PQntuples(res), count))
		goto out;
	http_reply_json(ctx, 200, page_envelope(ctx, &page, count, j_results));
	j_results = NULL;
out:
	http_db_release(ctx, conn);
	PQclear(res);
	json_decref(j_results);
}

static void post_note(struct http_ctx *ctx)
{
	char *values[NOTE_FIELDS] = {0};
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	json_t *j_body, *j_errors = NULL, *j_note;
	char *location = NULL;
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	j_errors = note_read_body(j_body, 0, values);
	if (json_object_size(j_errors)) {
		http_reply_validation(ctx, j_errors);
		j_errors = NULL;
		goto out;
	}
	if (http_db_or_reply(ctx, &conn))
		goto out;
	err = note_create(conn, ctx->user.profile_id, values[NOTE_TITLE], values[NOTE_BODY], &res);
	if (err != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	j_note = note_to_json(res, 0);
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "/api/notes/%s", json_string_value(json_object_get(j_note, "id")));
	location = http_absolute_url(ctx, strbuf_str(&path));
	strbuf_release(&path);
	http_set_header(ctx, "Location", location);
	http_reply_json(ctx, 201, j_note);
out:
	http_db_release(ctx, conn);
	PQclear(res);
	json_decref(j_errors);
	fields_release(values, NOTE_FIELDS);
	free(location);
}

static void get_note(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	err = note_find(conn, ctx->user.profile_id, http_param(ctx, 0), &res);
	if (err == APP_OK)
		http_reply_json(ctx, 200, note_to_json(res, 0));
	else
		http_reply_app_error(ctx, err);
	http_db_release(ctx, conn);
	PQclear(res);
}

/* PUT (partial 0: title required) and PATCH (partial 1); fields left out keep their values. */
static void update_note(struct http_ctx *ctx, int partial)
{
	const char *id = http_param(ctx, 0);
	char *values[NOTE_FIELDS] = {0};
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	json_t *j_body, *j_errors = NULL;
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	j_errors = note_read_body(j_body, partial, values);
	if (http_db_or_reply(ctx, &conn))
		goto out;
	if (json_object_size(j_errors)) {
		/* As the Django version: a note that is not the caller's is a 404 before any field error. */
		err = note_find(conn, ctx->user.profile_id, id, NULL);
		if (err == APP_OK) {
			http_reply_validation(ctx, j_errors);
			j_errors = NULL;
		} else {
			http_reply_app_error(ctx, err);
		}
		goto out;
	}
	err = note_update(conn, ctx->user.profile_id, id, values[NOTE_TITLE], values[NOTE_BODY],
			  &res);
	if (err == APP_OK)
		http_reply_json(ctx, 200, note_to_json(res, 0));
	else
		http_reply_app_error(ctx, err);
out:
	http_db_release(ctx, conn);
	PQclear(res);
	json_decref(j_errors);
	fields_release(values, NOTE_FIELDS);
}

static void put_note(struct http_ctx *ctx)
{
	update_note(ctx, 0);
}

static void patch_note(struct http_ctx *ctx)
{
	update_note(ctx, 1);
}

static void delete_note(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	/* A profile's favorite_note pointing here is cleared by the foreign key. */
	err = note_delete(conn, ctx->user.profile_id, http_param(ctx, 0));
	if (err == APP_OK)
		http_reply_no_content(ctx);
	else
		http_reply_app_error(ctx, err);
	http_db_release(ctx, conn);
}

static const struct route notes_table[] = {
	{"GET", "/api/notes", get_notes, ROUTE_LOGIN},
	{"POST", "/api/notes", post_note, ROUTE_LOGIN},
	{"GET", "/api/notes/{id}", get_note, ROUTE_LOGIN},
	{"PUT", "/api/notes/{id}", put_note, ROUTE_LOGIN},
	{"PATCH", "/api/notes/{id}", patch_note, ROUTE_LOGIN},
	{"DELETE", "/api/notes/{id}", delete_note, ROUTE_LOGIN},
};

void notes_routes(struct router *router)
{
	router_add(router, notes_table, sizeof(notes_table) / sizeof(notes_table[0]));
}
