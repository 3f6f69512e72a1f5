/*
 * The media store on disk; see media.h. Owns every file system call on
 * MEDIA_ROOT; never trusts a name it did not make for writing or removing,
 * and resolves every name it reads to a real path inside MEDIA_ROOT.
 */
#include "models/media.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#define NAME_HEX 32 /* 128 random bits */

static const char *const MEDIA_DIRS[] = {"profiles", "projects"};
static const char *const MEDIA_EXTS[] = {"png", "jpg", "gif", "webp"};

/* mkdir -p path (0755). 0, or -1 with errno set. */
static int make_dirs(const char *path)
{
	char *copy = xstrdup(path);
	int rc = 0;
	for (char *p = copy + 1; *p && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(copy, 0755) && errno != EEXIST)
		rc = -1;
	free(copy);
	return rc;
}

static int write_all(int fd, const unsigned char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void random_hex(char out[NAME_HEX + 1])
{
	unsigned char bytes[NAME_HEX / 2];
	random_bytes(bytes, sizeof(bytes));
	hex_encode(bytes, sizeof(bytes), out);
}

enum app_err media_store(const char *root, const char *dir, const void *data, size_t len,
			 const char *ext, char **rel)
{
	struct strbuf folder = STRBUF_INIT, tmp = STRBUF_INIT, path = STRBUF_INIT;
	enum app_err err = APP_ERR_INTERNAL;
	char name[NAME_HEX + 1];
	int fd = -1;

	*rel = NULL;
	strbuf_addf(&folder, "%s/%s", root, dir);
	if (make_dirs(strbuf_str(&folder))) {
		log_error("media: cannot create %s: %s", strbuf_str(&folder), strerror(errno));
		goto out;
	}
	random_hex(name);
	strbuf_addf(&tmp, "%s/.upload-%s.tmp", strbuf_str(&folder), name);
	fd = open(strbuf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_error("media: cannot create %s: %s", strbuf_str(&tmp), strerror(errno));
		goto out;
	}
	/* Durable before the database points at it. */
	if (write_all(fd, data, len) || fsync(fd)) {
		log_error("media: cannot write %s: %s", strbuf_str(&tmp), strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		log_error("media: cannot write %s: %s", strbuf_str(&tmp), strerror(errno));
		goto out;
	}
	fd = -1;
	/* A fresh random name for the file itself: the temporary name is never published. */
	random_hex(name);
	strbuf_addf(&path, "%s/%s.%s", strbuf_str(&folder), name, ext);
	if (rename(strbuf_str(&tmp), strbuf_str(&path))) {
		log_error("media: cannot rename %s: %s", strbuf_str(&tmp), strerror(errno));
		goto out;
	}
	struct strbuf out_rel = STRBUF_INIT;
	strbuf_addf(&out_rel, "%s/%s.%s", dir, name, ext);
	*rel = strbuf_detach(&out_rel);
	err = APP_OK;
out:
	if (fd >= 0)
		close(fd);
	if (err != APP_OK && tmp.len)
		unlink(strbuf_str(&tmp));
	strbuf_release(&folder);
	strbuf_release(&tmp);
	strbuf_release(&path);
	return err;
}

static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int media_rel_is_ours(const char *rel)
{
	const char *slash = strchr(rel, '/'), *name, *ext;
	int dir_ok = 0, ext_ok = 0;

	if (!slash)
		return 0;
	for (size_t i = 0; i < sizeof(MEDIA_DIRS) / sizeof(MEDIA_DIRS[0]); i++)
		dir_ok |= (size_t)(slash - rel) == strlen(MEDIA_DIRS[i]) &&
			  !strncmp(rel, MEDIA_DIRS[i], (size_t)(slash - rel));
	name = slash + 1;
	if (!dir_ok || strlen(name) < NAME_HEX + 2 || !is_lower_hex(name, NAME_HEX) ||
	    name[NAME_HEX] != '.')
		return 0;
	ext = name + NAME_HEX + 1;
	for (size_t i = 0; i < sizeof(MEDIA_EXTS) / sizeof(MEDIA_EXTS[0]); i++)
		ext_ok |= !strcmp(ext, MEDIA_EXTS[i]);
	return ext_ok;
}

char *media_rel_from_url(const char *url)
{
	const char *scheme_end, *path;
	char *rel;

	if (!url || !*url)
		return NULL;
	scheme_end = strstr(url, "://");
	path = scheme_end ? strchr(scheme_end + 3, '/') : url;
	if (!path || strncmp(path, "/media/", 7))
		return NULL;
	rel = xstrndup(path + 7, strcspn(path + 7, "?#"));
	if (!media_rel_is_ours(rel)) {
		free(rel);
		return NULL;
	}
	return rel;
}

void media_remove(const char *root, const char *rel)
{
	struct strbuf path = STRBUF_INIT;
	if (!media_rel_is_ours(rel))
		return;
	strbuf_addf(&path, "%s/%s", root, rel);
	if (unlink(strbuf_str(&path)) && errno != ENOENT)
		log_warn("media: cannot remove %s: %s", strbuf_str(&path), strerror(errno));
	strbuf_release(&path);
}

/* Plain relative segments only: see media_open in media.h. */
static int rel_is_safe(const char *rel)
{
	size_t len = strlen(rel);
	if (len == 0 || len > 1024)
		return 0;
	for (const char *seg = rel; *seg;) {
		size_t n = strcspn(seg, "/");
		if (n == 0 || seg[0] == '.')
			return 0;
		for (size_t i = 0; i < n; i++) {
			char c = seg[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
				return 0;
		}
		seg += n;
		if (*seg == '/' && *++seg == '\0')
			return 0; /* a trailing slash */
	}
	return 1;
}

enum app_err media_open(const char *root, const char *rel, int *fd, struct stat *st)
{
	struct strbuf path = STRBUF_INIT;
	char *root_real = NULL, *real = NULL;
	enum app_err err = APP_ERR_NOT_FOUND;
	size_t n;

	*fd = -1;
	if (!rel_is_safe(rel) || !(root_real = realpath(root, NULL)))
		goto out;
	strbuf_addf(&path, "%s/%s", root_real, rel);
	if (!(real = realpath(strbuf_str(&path), NULL)))
		goto out;
	/* Symbolic links may point anywhere: what counts is where the file really is. */
	n = strlen(root_real);
	if (n > 1 && (strncmp(real, root_real, n) || real[n] != '/'))
		goto out;
	/* O_NONBLOCK: a FIFO planted in the folder must not hang the request. */
	*fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (*fd < 0)
		goto out;
	if (fstat(*fd, st) || !S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		goto out;
	}
	err = APP_OK;
out:
	strbuf_release(&path);
	free(root_real);
	free(real);
	return err;
}
