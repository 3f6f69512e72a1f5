/*
 * GET /api/docs: a page of ours that runs Swagger UI over GET /api/openapi.yaml,
 * with every script, style and image served by this binary from DOCS_ASSETS_DIR
 * (the build copies them there: see the Makefile's docs-assets), so nothing is
 * loaded from another host and a strict Content-Security-Policy holds. Only the
 * names of docs_assets[] are served: no part of a URL becomes a path on disk.
 */
#include "api/docs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"

/*
 * Scripts only from files of ours (Swagger UI needs neither inline scripts nor
 * eval); requests only to this origin, so "Try it out" cannot be pointed
 * elsewhere. Swagger UI's stylesheet draws its icons with data: images. The
 * one inline style is the <style> inside the top bar's Swagger logo (an SVG of
 * swagger-ui-standalone-preset.js), allowed by its hash: after an upgrade of
 * swagger-ui-dist, tests/js/docs-page.test.mjs names the new hash if it changed.
 */
#define DOCS_LOGO_STYLE_HASH "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"
static const char DOCS_CSP[] =
	"default-src 'none'; script-src 'self'; style-src 'self' " DOCS_LOGO_STYLE_HASH "; "
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/*
 * The text in #swagger-ui stays only if Swagger UI never starts, which is
 * what happens when the build found no node_modules to copy it from.
 */
static const char DOCS_PAGE[] =
	"<!doctype html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>DevSearch API docs</title>\n"
	"<link rel=\"stylesheet\" href=\"/api/docs/assets/swagger-ui.css\">\n"
	"<link rel=\"icon\" type=\"image/png\" sizes=\"32x32\" "
	"href=\"/api/docs/assets/favicon-32x32.png\">\n"
	"<link rel=\"icon\" type=\"image/png\" sizes=\"16x16\" "
	"href=\"/api/docs/assets/favicon-16x16.png\">\n"
	"</head>\n"
	"<body>\n"
	"<div id=\"swagger-ui\">\n"
	"<p>Loading the DevSearch API documentation from "
	"<a href=\"/api/openapi.yaml\">/api/openapi.yaml</a>. If this text stays, the "
	"server has no Swagger UI assets: build it with node_modules installed "
	"(<code>make deps &amp;&amp; make</code>) or set DOCS_ASSETS_DIR.</p>\n"
	"</div>\n"
	"<script src=\"/api/docs/assets/swagger-ui-bundle.js\"></script>\n"
	"<script src=\"/api/docs/assets/swagger-ui-standalone-preset.js\"></script>\n"
	"<script src=\"/api/docs/assets/init.js\"></script>\n"
	"</body>\n"
	"</html>\n";

/* What may be asked for under /api/docs/assets/; the Makefile's DOCS_ASSET_FILES. */
struct docs_asset {
	const char *name;
	const char *content_type;
};

static const struct docs_asset docs_assets[] = {
	{"swagger-ui.css", "text/css; charset=utf-8"},
	{"swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
	{"swagger-ui-standalone-preset.js", "text/javascript; charset=utf-8"},
	{"init.js", "text/javascript; charset=utf-8"},
	{"favicon-16x16.png", "image/png"},
	{"favicon-32x32.png", "image/png"},
};

/* The whitelist entry called name, or NULL. */
static const struct docs_asset *docs_asset_find(const char *name)
{
	for (size_t i = 0; i < sizeof(docs_assets) / sizeof(docs_assets[0]); i++)
		if (!strcmp(docs_assets[i].name, name))
			return &docs_assets[i];
	return NULL;
}

/*
 * Open a regular file for reading; 0 with *fd and *st, or -1 with errno.
 * The caller close()s *fd.
 */
static int docs_file_open(const char *path, int *fd, struct stat *st)
{
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	int failed = fstat(f, st) ? errno : !S_ISREG(st->st_mode) ? EISDIR : 0;
	if (failed) {
		close(f);
		errno = failed;
		return -1;
	}
	*fd = f;
	return 0;
}

/* The headers of every answer of this module that a browser renders or runs. */
static void docs_set_safety_headers(struct http_ctx *ctx)
{
	/* X-Content-Type-Options: nosniff is on every answer (api/http.c). */
	http_set_header(ctx, "Content-Security-Policy", DOCS_CSP);
	http_set_header(ctx, "Referrer-Policy", "no-referrer");
}

static void get_docs(struct http_ctx *ctx)
{
	ulfius_set_binary_body_response(ctx->resp, 200, DOCS_PAGE, sizeof(DOCS_PAGE) - 1);
	http_set_header(ctx, "Content-Type", "text/html; charset=utf-8");
	http_set_header(ctx, "Cache-Control", "no-cache");
	docs_set_safety_headers(ctx);
	ctx->replied = 1;
}

static void get_docs_asset(struct http_ctx *ctx)
{
	const struct docs_asset *asset = docs_asset_find(http_param(ctx, 0));
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	int fd = -1;

	if (!asset) {
		http_reply_error(ctx, 404, "not_found", "Not found.");
		goto out;
	}
	strbuf_addf(&path, "%s/%s", ctx->app->cfg->docs_assets_dir, asset->name);
	if (docs_file_open(strbuf_str(&path), &fd, &st)) {
		log_warn("docs: cannot read %s: %s (build with node_modules installed, or set "
			 "DOCS_ASSETS_DIR)",
			 strbuf_str(&path), strerror(errno));
		http_reply_error(ctx, 404, "not_found", "Not found.");
		goto out;
	}
	http_set_header(ctx, "Content-Type", asset->content_type);
	/* The URLs carry no version: an upgrade reaches browsers within the hour. */
	http_set_header(ctx, "Cache-Control", "public, max-age=3600");
	docs_set_safety_headers(ctx);
	http_reply_file(ctx, fd, &st);
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
}

static const struct route docs_table[] = {
	{"GET", "/api/docs", get_docs, ROUTE_NO_AUTH},
	{"GET", "/api/docs/assets/{name...}", get_docs_asset, ROUTE_NO_AUTH | ROUTE_UNLISTED},
};

void docs_routes(struct router *router)
{
	router_add(router, docs_table, sizeof(docs_table) / sizeof(docs_table[0]));
}
