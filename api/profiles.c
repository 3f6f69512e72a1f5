/*
 * Profiles: the searchable list, one profile, friends, and the caller's own
 * account (GET/PUT/PATCH/DELETE /api/account). Permissions, status codes and
 * the order of checks live here; SQL is in models/profile.c, JSON and
 * validation in serializers/profile.c.
 */
#include "api/profiles.h"

#include <stdlib.h>
#include <string.h>

#include "api/images.h"
#include "api/pagination.h"
#include "models/profile.h"
#include "serializers/fields.h"
#include "serializers/profile.h"

/* Answer status with the profile id and its relations; email only if include_email. */
static void reply_profile(struct http_ctx *ctx, struct db_conn *conn, const char *id,
			  int include_email, unsigned status)
{
	struct profile_rows rows;
	enum app_err err = profile_fetch(conn, &id, 1, &rows);
	if (err == APP_OK && PQntuples(rows.profiles) == 0)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK)
		http_reply_json(ctx, status, profile_to_json(&rows, 0, include_email));
	else
		http_reply_app_error(ctx, err);
	profile_rows_clear(&rows);
}

/* One query for the page of ids, one per relation for all of them: a fixed count. */
static void get_profiles(struct http_ctx *ctx)
{
	struct page_request page;
	struct db_conn *conn = NULL;
	struct profile_rows rows = {0};
	PGresult *res = NULL;
	const char **ids = NULL;
	char *pattern = NULL;
	enum app_err err;

	if (page_request_or_reply(ctx, &page))
		return;
	char *search = http_query_trimmed(ctx, "search");
	if (*search) {
		struct strbuf like = STRBUF_INIT;
		db_like_pattern(&like, search);
		pattern = strbuf_detach(&like);
	}
	free(search);
	if (http_db_or_reply(ctx, &conn))
		goto out;
	if ((err = profile_list_page(conn, pattern, page.limit, page.offset, &res)) != APP_OK)
		goto fail;
	int n = PQntuples(res);
	long count = n ? atol(PQgetvalue(res, 0, PQfnumber(res, "total_count"))) : 0;
	if (page_check_or_reply(ctx, &page, n, count))
		goto out;
	ids = xcalloc((size_t)n + 1, sizeof(*ids));
	for (int i = 0; i < n; i++)
		ids[i] = PQgetvalue(res, i, 0);
	if ((err = profile_fetch(conn, ids, (size_t)n, &rows)) != APP_OK)
		goto fail;
	json_t *j_results = json_array();
	for (int i = 0; i < PQntuples(rows.profiles); i++)
		json_array_append_new(j_results, profile_to_json(&rows, i, 0));
	http_reply_json(ctx, 200, page_envelope(ctx, &page, count, j_results));
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	profile_rows_clear(&rows);
	PQclear(res);
	free(ids);
	free(pattern);
	http_db_release(ctx, conn);
}

static int is_own_profile(const struct http_ctx *ctx, const char *profile_id)
{
	return ctx->user.authenticated && !strcmp(profile_id, ctx->user.profile_id);
}

static void get_profile(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	struct profile_rows rows = {0};
	const char *id = http_param(ctx, 0);
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if ((err = profile_fetch(conn, &id, 1, &rows)) == APP_OK && PQntuples(rows.profiles) == 0)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK)
		http_reply_json(
			ctx, 200,
			profile_to_json(&rows, 0,
					is_own_profile(ctx, PQgetvalue(rows.profiles, 0, 0))));
	else
		http_reply_app_error(ctx, err);
	profile_rows_clear(&rows);
	http_db_release(ctx, conn);
}

/* 201 with the friend when added, 200 when it already was one; no Location (as the peer). */
static void post_friend(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	int created = 0;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if ((err = profile_brief(conn, http_param(ctx, 0), &res)) != APP_OK)
		goto fail;
	const char *friend_id = PQgetvalue(res, 0, 0);
	if (!strcmp(friend_id, ctx->user.profile_id)) {
		http_reply_validation(ctx, json_pack("{s:[s]}", "non_field_errors",
						     "You cannot add yourself as a friend."));
		goto out;
	}
	/* One statement: its own transaction. A friend deleted meanwhile fails the foreign key. */
	err = profile_friend_add(conn, ctx->user.profile_id, friend_id, &created);
	if (err == APP_ERR_INVALID)
		err = APP_ERR_NOT_FOUND;
	if (err != APP_OK)
		goto fail;
	http_reply_json(ctx, created ? 201 : 200, profile_brief_to_json(res, 0));
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	PQclear(res);
	http_db_release(ctx, conn);
}

/* 204 also when it was not a friend; 404 only for an unknown profile. */
static void delete_friend(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	err = profile_brief(conn, http_param(ctx, 0), &res);
	if (err == APP_OK)
		err = profile_friend_remove(conn, ctx->user.profile_id, PQgetvalue(res, 0, 0));
	if (err == APP_OK)
		http_reply_no_content(ctx);
	else
		http_reply_app_error(ctx, err);
	PQclear(res);
	http_db_release(ctx, conn);
}

static void get_account(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	if (http_db_or_reply(ctx, &conn))
		return;
	reply_profile(ctx, conn, ctx->user.profile_id, 1, 200);
	http_db_release(ctx, conn);
}

/*
 * The checks that need the database, for the fields that passed their own
 * rules (as DRF's validate_<field>, all reported at once): username and
 * email not another user's, favorite_note one of the caller's notes.
 */
static enum app_err check_account_changes(struct http_ctx *ctx, struct db_conn *conn,
					  const struct profile_changes *changes, json_t *j_errors)
{
	int username_taken = 0, email_taken = 0, own = 1;
	enum app_err err = APP_OK;

	if (changes->username || changes->email)
		err = profile_identity_taken(conn, ctx->user.id, changes->username, changes->email,
					     &username_taken, &email_taken);
	if (err == APP_OK && changes->favorite_note)
		err = profile_note_is_own(conn, ctx->user.profile_id, changes->favorite_note, &own);
	if (username_taken)
		field_error(j_errors, "username", PROFILE_USERNAME_TAKEN);
	if (email_taken)
		field_error(j_errors, "email", PROFILE_EMAIL_TAKEN);
	if (!own)
		profile_favorite_note_missing(j_errors, changes->favorite_note);
	return err;
}

/* A check passed, then the database said otherwise (a concurrent change): the same message. */
static void reply_lost_race(struct http_ctx *ctx, const struct profile_changes *changes,
			    const char *conflict)
{
	json_t *j_errors = json_object();
	if (!strcmp(conflict, "favorite_note"))
		profile_favorite_note_missing(j_errors, changes->favorite_note);
	else
		field_error(j_errors, conflict,
			    !strcmp(conflict, "email") ? PROFILE_EMAIL_TAKEN
						       : PROFILE_USERNAME_TAKEN);
	http_reply_validation(ctx, j_errors);
}

static void update_account(struct http_ctx *ctx, int partial)
{
	struct profile_changes changes;
	struct db_conn *conn = NULL;
	char *old_image = NULL, *released = NULL;
	json_t *j_body, *j_errors = NULL;
	const char *conflict = NULL;
	enum app_err err;

	profile_changes_init(&changes);
	if (http_json_object_or_reply(ctx, &j_body))
		return;
	j_errors = profile_changes_read(j_body, partial, &changes);
	if (http_db_or_reply(ctx, &conn))
		goto out;
	if ((err = db_begin(conn)) != APP_OK ||
	    (err = check_account_changes(ctx, conn, &changes, j_errors)) != APP_OK)
		goto fail;
	if (json_object_size(j_errors)) {
		http_reply_validation(ctx, j_errors);
		j_errors = NULL;
		goto out;
	}
	/* A profile_image given replaces the URL: the file it named may be ours to remove. */
	if (changes.text[PROFILE_IMAGE] &&
	    (err = profile_lock_image(conn, ctx->user.id, &old_image)) != APP_OK)
		goto fail;
	err = profile_update(conn, ctx->user.id, ctx->user.profile_id, &changes, &conflict);
	if (conflict) {
		db_rollback(conn);
		reply_lost_race(ctx, &changes, conflict);
		goto out;
	}
	if (err != APP_OK || (err = images_released_file(conn, old_image, &released)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK)
		goto fail;
	images_remove_released(ctx, released);
	reply_profile(ctx, conn, ctx->user.profile_id, 1, 200);
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	http_db_release(ctx, conn); /* rolls back whatever is still open */
	json_decref(j_errors);
	profile_changes_release(&changes);
	free(old_image);
	free(released);
}

static void put_account(struct http_ctx *ctx)
{
	update_account(ctx, 0);
}

static void patch_account(struct http_ctx *ctx)
{
	update_account(ctx, 1);
}

/*
 * One DELETE of the user; the schema's ON DELETE rules do the rest in the
 * same statement. The profile image goes after the commit; the projects stay
 * (owner null), and so do their images.
 */
static void delete_account(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	char *image = NULL, *released = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if ((err = db_begin(conn)) != APP_OK ||
	    (err = profile_lock_image(conn, ctx->user.id, &image)) != APP_OK ||
	    (err = profile_delete_account(conn, ctx->user.id)) != APP_OK ||
	    (err = images_released_file(conn, image, &released)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	images_remove_released(ctx, released);
	http_reply_no_content(ctx);
out:
	http_db_release(ctx, conn); /* rolls back whatever is still open */
	free(image);
	free(released);
}

static const struct route profiles_table[] = {
	{"GET", "/api/profiles", get_profiles, ROUTE_PUBLIC | ROUTE_CACHED},
	{"GET", "/api/profiles/{id}", get_profile, ROUTE_PUBLIC | ROUTE_CACHED},
	{"POST", "/api/profiles/{id}/friends", post_friend, ROUTE_LOGIN},
	{"DELETE", "/api/profiles/{id}/friends", delete_friend, ROUTE_LOGIN},
	{"GET", "/api/account", get_account, ROUTE_LOGIN},
	{"PUT", "/api/account", put_account, ROUTE_LOGIN},
	{"PATCH", "/api/account", patch_account, ROUTE_LOGIN},
	{"DELETE", "/api/account", delete_account, ROUTE_LOGIN},
};

void profiles_routes(struct router *router)
{
	router_add(router, profiles_table, sizeof(profiles_table) / sizeof(profiles_table[0]));
}
