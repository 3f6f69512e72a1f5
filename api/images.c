/*
 * Image uploads: PUT /api/account/image and PUT /api/projects/{id}/image.
 * Permissions, status codes and the order of the steps live here: lock the
 * row, check who may change it, read and check the file (serializers/image.c),
 * store it (models/media.c), point the row at it, commit, and only then
 * remove the file it replaced. Deletes and updates elsewhere that let go of
 * an image use images_released_file / images_remove_released the same way.
 */
#include "api/images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "models/image.h"
#include "models/media.h"
#include "models/profile.h"
#include "models/project.h"
#include "serializers/image.h"
#include "serializers/profile.h"
#include "serializers/project.h"

static const char INVALID_IMAGE[] = "Upload a valid image. The file you uploaded was either not an "
				    "image or a corrupted image.";

static void reply_image_error(struct http_ctx *ctx, const char *message)
{
	http_reply_validation(ctx, json_pack("{s:[s]}", "image", message));
}

/*
 * The "image" file of the request body, checked: 0 with *file (borrowed from
 * the request) and *type, or -1 after replying. As DRF's MultiPartParser: no
 * body or no content type is an empty form, another media type is a 415.
 */
static int read_image_or_reply(struct http_ctx *ctx, struct multipart_file *file,
			       enum image_type *type)
{
	const struct _u_request *req = ctx->req;
	const char *content_type = http_header(ctx, "Content-Type");
	const char *reason = NULL;
	struct strbuf detail = STRBUF_INIT;

	memset(file, 0, sizeof(*file));
	if (req->binary_body_length > 0 && content_type) {
		switch (multipart_find_file(content_type, req->binary_body, req->binary_body_length,
					    "image", file, &reason)) {
		case MULTIPART_OK: break;
		case MULTIPART_NOT_MULTIPART:
			strbuf_addf(&detail, "Unsupported media type \"%s\" in request.",
				    content_type);
			http_reply_error(ctx, 415, "unsupported_media_type", strbuf_str(&detail));
			strbuf_release(&detail);
			return -1;
		case MULTIPART_BAD_BOUNDARY:
		case MULTIPART_MALFORMED:
		default:
			strbuf_addf(&detail, "Multipart form parse error - %s", reason);
			http_reply_error(ctx, 400, "parse_error", strbuf_str(&detail));
			strbuf_release(&detail);
			return -1;
		}
	}
	if (!file->found) {
		reply_image_error(ctx, "No file was submitted.");
		return -1;
	}
	if (file->len > (size_t)IMAGE_MAX_BYTES) {
		strbuf_addf(&detail, "The image is larger than %ld bytes.", IMAGE_MAX_BYTES);
		http_reply_error(ctx, 413, "payload_too_large", strbuf_str(&detail));
		strbuf_release(&detail);
		return -1;
	}
	*type = image_sniff(file->data, file->len);
	if (*type == IMAGE_NONE) {
		reply_image_error(ctx, INVALID_IMAGE);
		return -1;
	}
	return 0;
}

/* The caller's own profile (with email) or the project, as GET would show it; NULL on error. */
static json_t *owner_json(struct db_conn *conn, enum image_owner kind, const char *id)
{
	json_t *j = NULL;
	if (kind == IMAGE_PROFILE) {
		struct profile_rows rows;
		const char *ids[] = {id};
		if (profile_fetch(conn, ids, 1, &rows) != APP_OK)
			return NULL;
		if (PQntuples(rows.profiles) == 1)
			j = profile_to_json(&rows, 0, 1);
		profile_rows_clear(&rows);
	} else {
		struct project_rows rows;
		const char *ids[] = {id};
		if (project_fetch(conn, ids, 1, &rows) != APP_OK)
			return NULL;
		if (PQntuples(rows.projects) == 1)
			j = project_to_json(&rows, 0);
		project_rows_clear(&rows);
	}
	return j;
}

/* "/media/<rel>" made absolute from the request's Host; new string. */
static char *media_url(struct http_ctx *ctx, const char *rel)
{
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "/media/%s", rel);
	char *url = http_absolute_url(ctx, strbuf_str(&path));
	strbuf_release(&path);
	return url;
}

enum app_err images_released_file(struct db_conn *conn, const char *url, char **rel)
{
	struct strbuf path = STRBUF_INIT;
	enum app_err err = APP_OK;
	int used = 1;

	/* Only a file of ours (not an external URL, not a name we did not make)... */
	*rel = media_rel_from_url(url);
	if (!*rel)
		return APP_OK;
	/* ...that no other profile or project points at. */
	strbuf_addf(&path, "/media/%s", *rel);
	err = image_still_used(conn, strbuf_str(&path), &used);
	strbuf_release(&path);
	if (err != APP_OK || used) {
		free(*rel);
		*rel = NULL;
	}
	return err;
}

void images_remove_released(struct http_ctx *ctx, const char *rel)
{
	if (rel)
		media_remove(ctx->app->cfg->media_root, rel);
}

static void put_image(struct http_ctx *ctx, enum image_owner kind, const char *id)
{
	const char *root = ctx->app->cfg->media_root;
	struct db_conn *conn = NULL;
	struct multipart_file file;
	enum image_type type;
	char *old_url = NULL, *owner = NULL, *rel = NULL, *url = NULL, *old_rel = NULL;
	int committed = 0;
	json_t *j = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if ((err = db_begin(conn)) != APP_OK ||
	    (err = image_lock(conn, kind, id, &old_url, &owner)) != APP_OK)
		goto fail;
	/* As DRF: 404 and 403 before anything about the body. */
	if (kind == IMAGE_PROJECT && !ctx->user.is_staff &&
	    (!owner || strcmp(owner, ctx->user.profile_id))) {
		err = APP_ERR_FORBIDDEN;
		goto fail;
	}
	if (read_image_or_reply(ctx, &file, &type))
		goto out;
	err = media_store(root, kind == IMAGE_PROFILE ? "profiles" : "projects", file.data,
			  file.len, image_extension(type), &rel);
	if (err != APP_OK)
		goto fail;
	url = media_url(ctx, rel);
	if ((err = image_set(conn, kind, id, url)) != APP_OK)
		goto fail;
	if ((err = images_released_file(conn, old_url, &old_rel)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK)
		goto fail;
	committed = 1;
	images_remove_released(ctx, old_rel);
	if (!(j = owner_json(conn, kind, id))) {
		err = APP_ERR_INTERNAL;
		goto fail;
	}
	http_reply_json(ctx, 200, j);
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	if (!committed) {
		db_rollback(conn);
		/* The row never pointed at the new file. */
		if (rel)
			media_remove(root, rel);
	}
	http_db_release(ctx, conn);
	free(old_url);
	free(owner);
	free(rel);
	free(url);
	free(old_rel);
}

static void put_account_image(struct http_ctx *ctx)
{
	put_image(ctx, IMAGE_PROFILE, ctx->user.profile_id);
}

static void put_project_image(struct http_ctx *ctx)
{
	put_image(ctx, IMAGE_PROJECT, http_param(ctx, 0));
}

static const struct route images_table[] = {
	{"PUT", "/api/account/image", put_account_image, ROUTE_LOGIN | ROUTE_UPLOAD},
	{"PUT", "/api/projects/{id}/image", put_project_image, ROUTE_LOGIN | ROUTE_UPLOAD},
};

void images_routes(struct router *router)
{
	router_add(router, images_table, sizeof(images_table) / sizeof(images_table[0]));
}
