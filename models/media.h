/*
 * The media store: uploaded files under MEDIA_ROOT, in one folder per kind
 * ("profiles", "projects"), each under a server-chosen name (32 random hex
 * digits and the extension of its detected type). Writing, removing, and
 * opening for reading without ever leaving MEDIA_ROOT. Files only: no SQL,
 * no HTTP.
 */
#ifndef DEVSEARCH_MODELS_MEDIA_H
#define DEVSEARCH_MODELS_MEDIA_H

#include <stddef.h>
#include <sys/stat.h>

#include "core/app.h"

/*
 * Store len bytes as root/dir/<32 hex>.<ext>: written to a hidden temporary
 * file in the same folder, flushed to disk, then renamed, so the name never
 * shows a partial file. Folders are created as needed. On APP_OK *rel is
 * "dir/<name>" (new string, caller free()s); APP_ERR_INTERNAL (logged) when
 * the file cannot be written.
 */
enum app_err media_store(const char *root, const char *dir, const void *data, size_t len,
			 const char *ext, char **rel);

/*
 * Remove root/rel, where rel is a name media_store() makes (checked with
 * media_rel_is_ours). A file already gone is fine; other failures are logged.
 */
void media_remove(const char *root, const char *rel);

/* 1 if rel has the shape of media_store()'s names: "<dir>/<32 hex>.<ext>". */
int media_rel_is_ours(const char *rel);

/*
 * The stored file an image URL points at: for ".../media/<rel>" with rel one
 * of our names (media_rel_is_ours), a new string rel (caller free()s); for
 * anything else (empty, another site's path, a name we did not make) NULL.
 * The host is not looked at, as in the Django version.
 */
char *media_rel_from_url(const char *url);

/*
 * Open root/rel for reading. rel is a relative path of plain segments: no
 * empty, "." or ".." segment, none starting with '.', only letters, digits,
 * '-', '_' and '.'; after resolving symbolic links the file must still be
 * inside root and be a regular file. On APP_OK *fd is open (caller close()s)
 * and *st describes it; APP_ERR_NOT_FOUND for anything else.
 */
enum app_err media_open(const char *root, const char *rel, int *fd, struct stat *st);

#endif
