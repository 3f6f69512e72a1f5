/*
 * GET /media/{path}: a stored upload, streamed from its file (never loaded
 * whole), with the content type of its extension, as Django's static serve
 * view answers it. models/media.c decides which files may be read at all.
 */
#include "api/media.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "models/media.h"
#include "serializers/image.h"

#define STREAM_BLOCK (64 * 1024)

/* The open file of one response; freed by ulfius when the response is done. */
struct media_stream {
	int fd;
};

static ssize_t stream_read(void *cls, uint64_t offset, char *buf, size_t max)
{
	const struct media_stream *stream = cls;
	ssize_t n;
	do
		n = pread(stream->fd, buf, max, (off_t)offset);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return U_STREAM_END;
	return n < 0 ? U_STREAM_ERROR : n;
}

static void stream_free(void *cls)
{
	struct media_stream *stream = cls;
	close(stream->fd);
	free(stream);
}

/* An HTTP date ("Sat, 21 Nov 2026 10:14:17 GMT") into out. */
static void http_date(time_t t, char out[64])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void get_media(struct http_ctx *ctx)
{
	const char *rel = http_param(ctx, 0);
	const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	struct media_stream *stream;
	struct stat st;
	char date[64];
	int fd;

	if (media_open(ctx->app->cfg->media_root, rel, &fd, &st) != APP_OK) {
		http_reply_error(ctx, 404, "not_found", "Not found.");
		return;
	}
	stream = xmalloc(sizeof(*stream));
	stream->fd = fd;
	/* As Django's serve view: no Allow header. */
	u_map_remove_from_key(ctx->resp->map_header, "Allow");
	http_set_header(ctx, "Content-Type", image_content_type(name));
	/* The type is ours to say: browsers must not guess another one from the bytes. */
	http_set_header(ctx, "X-Content-Type-Options", "nosniff");
	/* name is plain letters, digits, '-', '_' and '.' (media_open checked it). */
	struct strbuf disposition = STRBUF_INIT;
	strbuf_addf(&disposition, "inline; filename=\"%s\"", name);
	http_set_header(ctx, "Content-Disposition", strbuf_str(&disposition));
	strbuf_release(&disposition);
	http_date(st.st_mtime, date);
	http_set_header(ctx, "Last-Modified", date);
	if (ulfius_set_stream_response(ctx->resp, 200, stream_read, stream_free,
				       (uint64_t)st.st_size, STREAM_BLOCK, stream) != U_OK) {
		stream_free(stream);
		http_reply_app_error(ctx, APP_ERR_INTERNAL);
		return;
	}
	ctx->replied = 1;
}

static const struct route media_table[] = {
	{"GET", "/media/{path...}", get_media, ROUTE_NO_AUTH},
};

void media_routes(struct router *router)
{
	router_add(router, media_table, sizeof(media_table) / sizeof(media_table[0]));
}
