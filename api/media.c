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

static void get_media(struct http_ctx *ctx)
{
	const char *rel = http_param(ctx, 0);
	const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	struct stat st;
	int fd;

	if (media_open(ctx->app->cfg->media_root, rel, &fd, &st) != APP_OK) {
		http_reply_error(ctx, 404, "not_found", "Not found.");
		return;
	}
	/* As Django's serve view: no Allow header. */
	u_map_remove_from_key(ctx->resp->map_header, "Allow");
	http_set_header(ctx, "Content-Type", image_content_type(name));
	/* X-Content-Type-Options: nosniff, as on every answer, comes from the dispatcher. */
	/* name is plain letters, digits, '-', '_' and '.' (media_open checked it). */
	struct strbuf disposition = STRBUF_INIT;
	strbuf_addf(&disposition, "inline; filename=\"%s\"", name);
	http_set_header(ctx, "Content-Disposition", strbuf_str(&disposition));
	strbuf_release(&disposition);
	http_reply_file(ctx, fd, &st);
}

static const struct route media_table[] = {
	{"GET", "/media/{path...}", get_media, ROUTE_NO_AUTH},
};

void media_routes(struct router *router)
{
	router_add(router, media_table, sizeof(media_table) / sizeof(media_table[0]));
}
