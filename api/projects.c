/*
 * Projects, votes and a project's tags: routes, permissions (reads public;
 * changes by the owner or staff, others 403, anonymous 401), status codes and
 * Location headers. Bodies are read by serializers/project.c and tag.c, SQL
 * is in models/project.c and tag.c; every write is one transaction.
 */
#include "api/projects.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/images.h"
#include "api/pagination.h"
#include "api/tags.h"
#include "models/image.h"
#include "models/project.h"
#include "models/tag.h"
#include "serializers/fields.h"
#include "serializers/project.h"
#include "serializers/tag.h"

static const char OWN_PROJECT[] = "You cannot vote on your own project.";

/* Owner (a profile id, "" for none) or staff may change a project. */
static int may_change(const struct http_ctx *ctx, const char *owner)
{
	return ctx->user.is_staff || (*owner && !strcmp(owner, ctx->user.profile_id));
}

/* Set Location to the project's absolute URL. */
static void set_location(struct http_ctx *ctx, const char *project_id)
{
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "/api/projects/%s", project_id);
	char *url = http_absolute_url(ctx, strbuf_str(&path));
	http_set_header(ctx, "Location", url);
	free(url);
	strbuf_release(&path);
}

/* Answer status with project id as it is now (3 statements); an error if it is gone. */
static enum app_err reply_project(struct http_ctx *ctx, struct db_conn *conn, const char *id,
				  unsigned status)
{
	struct project_rows rows;
	const char *ids[] = {id};
	enum app_err err = project_fetch(conn, ids, 1, &rows);
	if (err != APP_OK)
		return err;
	if (PQntuples(rows.projects) == 1)
		http_reply_json(ctx, status, project_to_json(&rows, 0));
	else
		err = APP_ERR_NOT_FOUND;
	project_rows_clear(&rows);
	return err;
}

/*
 * Python's uuid.UUID(text), as the Django version reads ?owner=: "urn:" and
 * "uuid:" dropped, braces and hyphens ignored, 32 hex digits. 1 with the
 * canonical form in out, else 0.
 */
static int uuid_parse(const char *text, char out[37])
{
	char hex[33];
	size_t n = 0, len;

	if (!strncmp(text, "urn:", 4))
		text += 4;
	if (!strncmp(text, "uuid:", 5))
		text += 5;
	len = strlen(text);
	while (len && (*text == '{' || *text == '}')) {
		text++;
		len--;
	}
	while (len && (text[len - 1] == '{' || text[len - 1] == '}'))
		len--;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '-')
			continue;
		if (!isxdigit((unsigned char)text[i]) || n == 32)
			return 0;
		hex[n++] = (char)tolower((unsigned char)text[i]);
	}
	if (n != 32)
		return 0;
	hex[32] = '\0';
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 1;
}

static void get_projects(struct http_ctx *ctx)
{
	struct page_request page;
	struct project_rows rows = {0};
	struct db_conn *conn = NULL;
	char *search = http_query_trimmed(ctx, "search"), *tag = http_query_trimmed(ctx, "tag");
	char *owner_text = http_query_trimmed(ctx, "owner"), owner[37] = "";
	enum app_err err;

	/* As the Django version: the filters are read before the page. */
	if (*owner_text && !uuid_parse(owner_text, owner)) {
		http_reply_validation(ctx, json_pack("{s:[s]}", "owner", "Must be a valid UUID."));
		goto out;
	}
	if (page_request_or_reply(ctx, &page) || http_db_or_reply(ctx, &conn))
		goto out;
	struct project_filter filter = {search, tag, owner};
	if ((err = project_list(conn, &filter, page.limit, page.offset, &rows)) != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	int n = PQntuples(rows.projects);
	long count = n ? atol(row_value(rows.projects, 0, "total_count")) : 0;
	if (page_check_or_reply(ctx, &page, n, count))
		goto out;
	http_reply_json(ctx, 200, page_envelope(ctx, &page, count, project_list_to_json(&rows)));
out:
	project_rows_clear(&rows);
	http_db_release(ctx, conn);
	free(search);
	free(tag);
	free(owner_text);
}

static void get_project(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if ((err = reply_project(ctx, conn, http_param(ctx, 0), 200)) != APP_OK)
		http_reply_app_error(ctx, err);
	http_db_release(ctx, conn);
}

static void post_project(struct http_ctx *ctx)
{
	struct project_input in = {0};
	struct db_conn *conn = NULL;
	json_t *j_body;
	char id[37];
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	if (http_reply_if_errors(ctx, project_read(j_body, 0, &in)) || http_db_or_reply(ctx, &conn))
		goto out;
	struct project_values values = project_input_values(&in);
	if ((err = db_begin(conn)) != APP_OK ||
	    (err = project_insert(conn, ctx->user.profile_id, &values, id)) != APP_OK ||
	    (in.ntags > 0 && (err = tag_set_for_project(conn, id, (const char *const *)in.tags,
							(size_t)in.ntags)) != APP_OK) ||
	    (err = db_commit(conn)) != APP_OK)
		goto fail;
	set_location(ctx, id);
	if ((err = reply_project(ctx, conn, id, 201)) != APP_OK)
		goto fail;
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	http_db_release(ctx, conn);
	project_input_release(&in);
}

/*
 * Begin a transaction on *conn and lock project id for a change by the
 * caller. 0 when the caller may change it; otherwise replied (404, 403 or an
 * error) and -1. *conn is the caller's to release either way.
 */
static int lock_for_change_or_reply(struct http_ctx *ctx, struct db_conn **conn, const char *id)
{
	char owner[37];
	enum app_err err;

	if (http_db_or_reply(ctx, conn))
		return -1;
	if ((err = db_begin(*conn)) != APP_OK || (err = project_lock(*conn, id, owner)) != APP_OK) {
		http_reply_app_error(ctx, err);
		return -1;
	}
	if (!may_change(ctx, owner)) {
		http_reply_app_error(ctx, APP_ERR_FORBIDDEN);
		return -1;
	}
	return 0;
}

/* PUT (partial 0: title required) and PATCH; fields not given keep their values. */
static void update_project(struct http_ctx *ctx, int partial)
{
	struct project_input in = {0};
	struct db_conn *conn = NULL;
	const char *id = http_param(ctx, 0);
	char *old_image = NULL, *released = NULL;
	json_t *j_body;
	enum app_err err;

	if (lock_for_change_or_reply(ctx, &conn, id) || http_json_object_or_reply(ctx, &j_body))
		goto out;
	if (http_reply_if_errors(ctx, project_read(j_body, partial, &in)))
		goto out;
	struct project_values values = project_input_values(&in);
	/* A featured_image given replaces the URL: the file it named may be ours to remove. */
	if ((in.featured_image &&
	     (err = image_lock(conn, IMAGE_PROJECT, id, &old_image, NULL)) != APP_OK) ||
	    (err = project_update(conn, id, &values)) != APP_OK ||
	    (in.ntags >= 0 && (err = tag_set_for_project(conn, id, (const char *const *)in.tags,
							 (size_t)in.ntags)) != APP_OK) ||
	    (err = images_released_file(conn, old_image, &released)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	images_remove_released(ctx, released);
	if ((err = reply_project(ctx, conn, id, 200)) != APP_OK)
		http_reply_app_error(ctx, err);
out:
	http_db_release(ctx, conn);
	project_input_release(&in);
	free(old_image);
	free(released);
}

static void put_project(struct http_ctx *ctx)
{
	update_project(ctx, 0);
}

static void patch_project(struct http_ctx *ctx)
{
	update_project(ctx, 1);
}

/* The project's stored image goes too, once the delete has committed. */
static void delete_project(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	const char *id = http_param(ctx, 0);
	char *image = NULL, *released = NULL;
	enum app_err err;

	if (lock_for_change_or_reply(ctx, &conn, id))
		goto out;
	if ((err = project_delete(conn, id, &image)) != APP_OK ||
	    (err = images_released_file(conn, image, &released)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	images_remove_released(ctx, released);
	http_reply_no_content(ctx);
out:
	http_db_release(ctx, conn);
	free(image);
	free(released);
}

/* 403 for the voter's own project, 0 otherwise (also a project without owner). */
static int own_project_reply(struct http_ctx *ctx, const char *owner_id)
{
	if (!*owner_id || strcmp(owner_id, ctx->user.profile_id))
		return 0;
	http_reply_error(ctx, 403, "permission_denied", OWN_PROJECT);
	return 1;
}

/*
 * A vote whose body was refused: as the Django version, a missing project
 * (404) or the voter's own (403) is said before what is wrong with the body.
 */
static void refuse_vote(struct http_ctx *ctx, struct db_conn *conn, const char *id)
{
	char owner[37];
	json_t *j_body;
	char *value = NULL, *body = NULL;
	enum app_err err = project_owner(conn, id, owner);

	if (err != APP_OK)
		http_reply_app_error(ctx, err);
	else if (!own_project_reply(ctx, owner) && !http_json_object_or_reply(ctx, &j_body))
		http_reply_if_errors(ctx, vote_read(j_body, &value, &body));
	free(value);
	free(body);
}

/*
 * The vote and the project's new state in one round trip and one transaction
 * (see project_vote_and_fetch); a deadlock or serialization failure is retried once.
 */
static void post_vote(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	struct project_rows rows = {0};
	const char *id = http_param(ctx, 0);
	char *value = NULL, *body = NULL;
	json_t *j_body = NULL, *j_errors = NULL;
	int voted = 0;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if (http_json_object_quiet(ctx, &j_body) ||
	    json_object_size(j_errors = vote_read(j_body, &value, &body))) {
		refuse_vote(ctx, conn, id);
		goto out;
	}
	err = project_vote_and_fetch(conn, id, ctx->user.profile_id, value, body, &voted, &rows);
	if (err == APP_ERR_RETRY) {
		project_rows_clear(&rows);
		err = project_vote_and_fetch(conn, id, ctx->user.profile_id, value, body, &voted,
					     &rows);
	}
	if (err == APP_OK && PQntuples(rows.projects) != 1)
		err = APP_ERR_NOT_FOUND;
	if (err != APP_OK)
		http_reply_app_error(ctx, err);
	else if (voted)
		http_reply_json(ctx, 200, project_to_json(&rows, 0));
	else if (!own_project_reply(ctx, project_row_owner(&rows, 0)))
		http_reply_app_error(ctx, APP_ERR_NOT_FOUND); /* changed hands meanwhile */
out:
	project_rows_clear(&rows);
	json_decref(j_errors);
	http_db_release(ctx, conn);
	free(value);
	free(body);
}

/* 201 with the tag, also when the project already had it; Location is the project. */
static void post_project_tag(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	const char *id = http_param(ctx, 0);
	PGresult *res = NULL;
	char *name = NULL;
	json_t *j_body;
	enum app_err err;

	if (lock_for_change_or_reply(ctx, &conn, id) || http_json_object_or_reply(ctx, &j_body) ||
	    http_reply_if_errors(ctx, tag_name_read(j_body, &name)))
		goto out;
	if ((err = tag_add_to_project(conn, id, name, &res)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	set_location(ctx, id);
	http_reply_json(ctx, 201, tag_to_json(res, 0));
out:
	PQclear(res);
	http_db_release(ctx, conn);
	free(name);
}

static void delete_project_tag(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	const char *id = http_param(ctx, 0);
	enum app_err err;

	if (lock_for_change_or_reply(ctx, &conn, id))
		goto out;
	if ((err = tag_remove_from_project(conn, id, http_param(ctx, 1))) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK)
		http_reply_app_error(ctx, err);
	else
		http_reply_no_content(ctx);
out:
	http_db_release(ctx, conn);
}

static const struct route projects_table[] = {
	{"GET", "/api/projects", get_projects, ROUTE_PUBLIC | ROUTE_CACHED},
	{"POST", "/api/projects", post_project, ROUTE_LOGIN},
	{"GET", "/api/projects/{id}", get_project, ROUTE_PUBLIC | ROUTE_CACHED},
	{"PUT", "/api/projects/{id}", put_project, ROUTE_LOGIN},
	{"PATCH", "/api/projects/{id}", patch_project, ROUTE_LOGIN},
	{"DELETE", "/api/projects/{id}", delete_project, ROUTE_LOGIN},
	{"POST", "/api/projects/{id}/vote", post_vote, ROUTE_LOGIN},
	{"POST", "/api/projects/{id}/tags", post_project_tag, ROUTE_LOGIN},
	{"DELETE", "/api/projects/{id}/tags/{tag_id}", delete_project_tag, ROUTE_LOGIN},
};

void projects_routes(struct router *router)
{
	router_add(router, projects_table, sizeof(projects_table) / sizeof(projects_table[0]));
}
