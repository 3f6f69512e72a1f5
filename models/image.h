/*
 * The image columns in SQL: profiles.profile_image and projects.featured_image
 * (locking the row, setting the URL, whether a stored file is still pointed
 * at), and the project read the project image upload answers with.
 */
#ifndef DEVSEARCH_MODELS_IMAGE_H
#define DEVSEARCH_MODELS_IMAGE_H

#include "models/db.h"

enum image_owner { IMAGE_PROFILE, IMAGE_PROJECT };

/*
 * Lock the profile or project id (FOR NO KEY UPDATE, in the caller's
 * transaction) and read its image URL into *old_url (new string, caller
 * free()s; "" when none) and, for a project, its owner's profile id into
 * *owner (new string, or NULL when the project has no owner; owner may be
 * NULL for profiles). APP_ERR_NOT_FOUND if there is no such row.
 */
enum app_err image_lock(struct db_conn *conn, enum image_owner kind, const char *id, char **old_url,
			char **owner);

/* Set the image URL of the profile or project id (in the caller's transaction). */
enum app_err image_set(struct db_conn *conn, enum image_owner kind, const char *id,
		       const char *url);

/*
 * *used = 1 if some profile or project image URL still contains media_path
 * ("/media/profiles/<name>"; letters, digits, '.', '/' only), else 0.
 */
enum app_err image_still_used(struct db_conn *conn, const char *media_path, int *used);

#endif
