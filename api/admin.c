/*
 * Staff routes: the staff check, status codes, and what deactivation does to
 * a user's tokens. Bodies are read by serializers/admin.c, SQL is in
 * models/admin.c (flags) and models/user.c (token revocation).
 */
#include "api/admin.h"

#include <stdlib.h>
#include <string.h>

#include "api/pagination.h"
#include "models/admin.h"
#include "models/user.h"
#include "serializers/admin.h"

/* Replies 403 unless the caller is staff (routes are ROUTE_LOGIN: anonymous is a 401 already). */
static int staff_or_reply(struct http_ctx *ctx)
{
	if (ctx->user.is_staff)
		return 0;
	http_reply_app_error(ctx, APP_ERR_FORBIDDEN);
	return -1;
}

static void get_users(struct http_ctx *ctx)
{
	struct page_request page;
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	json_t *j_results = NULL;
	char *search = NULL;
	long count;
	enum app_err err;

	if (staff_or_reply(ctx) || page_request_or_reply(ctx, &page) ||
	    http_db_or_reply(ctx, &conn))
		return;
	search = http_query_trimmed(ctx, "search");
	err = admin_user_list(conn, search, page.limit, page.offset, &res);
	if (err != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	j_results = admin_user_list_to_json(res, &count);
	if (page_check_or_reply(ctx, &page, PQntuples(res), count))
		goto out;
	http_reply_json(ctx, 200, page_envelope(ctx, &page, count, j_results));
	j_results = NULL;
out:
	http_db_release(ctx, conn);
	PQclear(res);
	json_decref(j_results);
	free(search);
}

static void patch_user(struct http_ctx *ctx)
{
	const char *id = http_param(ctx, 0);
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	json_t *j_body, *j_errors = NULL;
	int is_active, is_staff, was_active, exists;
	enum app_err err;

	if (staff_or_reply(ctx) || http_json_object_or_reply(ctx, &j_body))
		return;
	j_errors = admin_user_read_body(j_body, &is_active, &is_staff);
	if (http_db_or_reply(ctx, &conn))
		goto out;
	if (json_object_size(j_errors)) {
		/* As the Django version: an unknown user is a 404 before any field error. */
		if ((err = admin_user_exists(conn, id, &exists)) != APP_OK)
			goto fail;
		if (!exists) {
			err = APP_ERR_NOT_FOUND;
			goto fail;
		}
		http_reply_validation(ctx, j_errors);
		j_errors = NULL;
		goto out;
	}
	if ((err = db_begin(conn)) != APP_OK ||
	    (err = admin_user_update(conn, id, is_active, is_staff, &was_active, &res)) != APP_OK)
		goto fail;
	/*
	 * Deactivation ends every login at once: refresh tokens blacklisted (as
	 * the Django version), and access tokens issued so far refused even if
	 * the user is activated again. Meanwhile the access check refuses an
	 * inactive user on every request.
	 */
	if (was_active && is_active == 0 && (err = user_revoke_tokens(conn, id)) != APP_OK)
		goto fail;
	if ((err = db_commit(conn)) != APP_OK)
		goto fail;
	http_reply_json(ctx, 200, admin_user_to_json(res, 0));
	goto out;
fail:
	db_rollback(conn);
	http_reply_app_error(ctx, err);
out:
	http_db_release(ctx, conn);
	PQclear(res);
	json_decref(j_errors);
}

static const struct route admin_table[] = {
	{"GET", "/api/admin/users", get_users, ROUTE_LOGIN},
	{"PATCH", "/api/admin/users/{id}", patch_user, ROUTE_LOGIN},
};

void admin_routes(struct router *router)
{
	router_add(router, admin_table, sizeof(admin_table) / sizeof(admin_table[0]));
}
