/*
 * Message routes: permissions, status codes and the inbox envelope. Bodies
 * are read by serializers/message.c, SQL is in models/message.c; this file
 * only decides and answers.
 */
#include "api/messages.h"

#include <stdlib.h>

#include "api/pagination.h"
#include "models/message.h"
#include "serializers/fields.h"
#include "serializers/message.h"

/* Location of a message: its place in the recipient's inbox. New string (free()). */
static char *inbox_url(struct http_ctx *ctx, const char *id)
{
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "/api/inbox/%s", id);
	char *url = http_absolute_url(ctx, strbuf_str(&path));
	strbuf_release(&path);
	return url;
}

static void post_message(struct http_ctx *ctx)
{
	const char *recipient = http_param(ctx, 0);
	int anonymous = !ctx->user.authenticated, exists = 0;
	char *values[MSG_FIELDS] = {0};
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	json_t *j_body, *j_errors = NULL, *j_message;
	char *location = NULL;
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	j_errors = message_read_body(j_body, anonymous, values);
	if (http_db_or_reply(ctx, &conn))
		goto out;
	if (json_object_size(j_errors)) {
		/* As the Django version: an unknown recipient is a 404 before any field error. */
		if ((err = message_recipient_exists(conn, recipient, &exists)) != APP_OK)
			goto fail;
		if (!exists) {
			err = APP_ERR_NOT_FOUND;
			goto fail;
		}
		http_reply_validation(ctx, j_errors);
		j_errors = NULL;
		goto out;
	}
	err = message_send(conn, recipient, anonymous ? NULL : ctx->user.profile_id,
			   values[MSG_NAME], values[MSG_EMAIL], values[MSG_SUBJECT],
			   values[MSG_BODY], &res);
	if (err != APP_OK)
		goto fail;
	j_message = message_to_json(res, 0);
	location = inbox_url(ctx, json_string_value(json_object_get(j_message, "id")));
	http_set_header(ctx, "Location", location);
	http_reply_json(ctx, 201, j_message);
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	http_db_release(ctx, conn);
	PQclear(res);
	json_decref(j_errors);
	fields_release(values, MSG_FIELDS);
	free(location);
}

/* The page envelope with "unread_count" right after "count", as the Django version. */
static json_t *inbox_envelope(struct http_ctx *ctx, const struct page_request *page, long count,
			      long unread, json_t *j_results)
{
	json_t *j_page = page_envelope(ctx, page, count, j_results);
	json_t *j = json_pack(
		"{s:O,s:I,s:O,s:O,s:O}", "count", json_object_get(j_page, "count"), "unread_count",
		(json_int_t)unread, "next", json_object_get(j_page, "next"), "previous",
		json_object_get(j_page, "previous"), "results", json_object_get(j_page, "results"));
	json_decref(j_page);
	return j;
}

static void get_inbox(struct http_ctx *ctx)
{
	struct page_request page;
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	json_t *j_results = NULL;
	long count, unread;
	enum app_err err;

	if (page_request_or_reply(ctx, &page) || http_db_or_reply(ctx, &conn))
		return;
	err = message_inbox(conn, ctx->user.profile_id, page.limit, page.offset, &res);
	if (err != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	j_results = message_list_to_json(res, &count, &unread);
	if (page_check_or_reply(ctx, &page, PQntuples(res), count))
		goto out;
	http_reply_json(ctx, 200, inbox_envelope(ctx, &page, count, unread, j_results));
	j_results = NULL;
out:
	http_db_release(ctx, conn);
	PQclear(res);
	json_decref(j_results);
}

static void get_message(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	/* Reading marks it read, in the same statement. */
	err = message_read(conn, ctx->user.profile_id, http_param(ctx, 0), &res);
	if (err == APP_OK)
		http_reply_json(ctx, 200, message_to_json(res, 0));
	else
		http_reply_app_error(ctx, err);
	http_db_release(ctx, conn);
	PQclear(res);
}

static void delete_message(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	err = message_delete(conn, ctx->user.profile_id, http_param(ctx, 0));
	if (err == APP_OK)
		http_reply_no_content(ctx);
	else
		http_reply_app_error(ctx, err);
	http_db_release(ctx, conn);
}

static const struct route messages_table[] = {
	{"POST", "/api/profiles/{id}/messages", post_message, ROUTE_PUBLIC | ROUTE_KEEPS_CACHE},
	{"GET", "/api/inbox", get_inbox, ROUTE_LOGIN},
	{"GET", "/api/inbox/{id}", get_message, ROUTE_LOGIN | ROUTE_PRIMARY},
	{"DELETE", "/api/inbox/{id}", delete_message, ROUTE_LOGIN | ROUTE_KEEPS_CACHE},
};

void messages_routes(struct router *router)
{
	router_add(router, messages_table, sizeof(messages_table) / sizeof(messages_table[0]));
}
