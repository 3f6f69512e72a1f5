/*
 * The image columns of profiles and projects in SQL; see image.h. Knows
 * nothing of files (models/media.c) or HTTP.
 */
#include "models/image.h"

#include <string.h>

#include "core/util.h"

/* NO KEY UPDATE: the image is not a key, so reviews and notes can still reference the row. */
static const char SQL_LOCK_PROFILE[] =
	"SELECT profile_image AS image, NULL::uuid AS owner_id FROM profiles WHERE id = $1 "
	"FOR NO KEY UPDATE";
static const char SQL_LOCK_PROJECT[] =
	"SELECT featured_image AS image, owner_id FROM projects WHERE id = $1 FOR NO KEY UPDATE";
static const char SQL_SET_PROFILE[] = "UPDATE profiles SET profile_image = $2 WHERE id = $1";
static const char SQL_SET_PROJECT[] = "UPDATE projects SET featured_image = $2 WHERE id = $1";
/* $1 holds no LIKE wildcards (image.h); LIKE rather than strpos so a trigram index could serve it. */
static const char SQL_STILL_USED[] =
	"SELECT EXISTS (SELECT 1 FROM profiles WHERE profile_image LIKE '%' || $1 || '%') "
	"OR EXISTS (SELECT 1 FROM projects WHERE featured_image LIKE '%' || $1 || '%')";

enum app_err image_lock(struct db_conn *conn, enum image_owner kind, const char *id, char **old_url,
			char **owner)
{
	const char *params[] = {id};
	PGresult *res = NULL;
	enum app_err err;

	*old_url = NULL;
	if (owner)
		*owner = NULL;
	err = db_exec(conn, kind == IMAGE_PROFILE ? SQL_LOCK_PROFILE : SQL_LOCK_PROJECT, 1, params,
		      &res);
	if (err != APP_OK)
		goto out;
	if (PQntuples(res) != 1) {
		err = APP_ERR_NOT_FOUND;
		goto out;
	}
	*old_url = xstrdup(PQgetvalue(res, 0, 0));
	if (owner && !PQgetisnull(res, 0, 1))
		*owner = xstrdup(PQgetvalue(res, 0, 1));
out:
	PQclear(res);
	return err;
}

enum app_err image_set(struct db_conn *conn, enum image_owner kind, const char *id, const char *url)
{
	const char *params[] = {id, url};
	return db_exec(conn, kind == IMAGE_PROFILE ? SQL_SET_PROFILE : SQL_SET_PROJECT, 2, params,
		       NULL);
}

enum app_err image_still_used(struct db_conn *conn, const char *media_path, int *used)
{
	const char *params[] = {media_path};
	PGresult *res = NULL;
	enum app_err err = db_exec(conn, SQL_STILL_USED, 1, params, &res);
	/* When in doubt, the file is kept. */
	*used = err != APP_OK || PQgetvalue(res, 0, 0)[0] != 'f';
	PQclear(res);
	return err;
}
