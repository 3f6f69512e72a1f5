/* The image upload routes of API.md's "Images": PUT /api/account/image and PUT /api/projects/{id}/image. */
#ifndef DEVSEARCH_API_IMAGES_H
#define DEVSEARCH_API_IMAGES_H

#include "api/http.h"
#include "models/db.h"

void images_routes(struct router *router);

/*
 * The caller's transaction has just let go of the image URL url (its row
 * deleted, or pointed elsewhere). Call before the commit: *rel is the stored
 * file to remove after it (new string, caller free()s), or NULL when there
 * is none to remove: url empty, external, not one of our names, or still
 * pointed at by some profile or project. On an error *rel is NULL.
 */
enum app_err images_released_file(struct db_conn *conn, const char *url, char **rel);

/*
 * Remove the file images_released_file named (nothing for NULL). Call only
 * after the commit, so a rolled-back change keeps its file; a failure is
 * logged, never the request's error.
 */
void images_remove_released(struct http_ctx *ctx, const char *rel);

#endif
