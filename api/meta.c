/*
 * Meta routes: the list of routes, built from the same table that registers
 * them, and the health check that reports whether PostgreSQL answers.
 */
#include "api/meta.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"

#include "models/db.h"

/* "/media/{path...}" is shown as "/media/{path}". */
static json_t *route_path_json(const char *pattern)
{
	const char *dots = strstr(pattern, "...}");
	if (!dots)
		return json_string(pattern);
	struct strbuf sb = STRBUF_INIT;
	strbuf_add(&sb, pattern, (size_t)(dots - pattern));
	strbuf_addstr(&sb, dots + 3);
	json_t *j = json_string(strbuf_str(&sb));
	strbuf_release(&sb);
	return j;
}

static void get_routes(struct http_ctx *ctx)
{
	const struct router *router = ctx->app->router;
	json_t *j_routes = json_array();

	for (size_t i = 0; i < router_count(router); i++) {
		const struct route *r = router_at(router, i);
		if (r->flags & ROUTE_UNLISTED)
			continue;
		json_t *j_route = json_object();
		json_object_set_new(j_route, r->method, route_path_json(r->pattern));
		json_array_append_new(j_routes, j_route);
	}
	http_reply_json(ctx, 200, j_routes);
}

static void get_health(struct http_ctx *ctx)
{
	if (db_pool_ping(ctx->app->pool) == APP_OK)
		http_reply_json(ctx, 200, json_pack("{s:s,s:s}", "status", "ok", "database", "ok"));
	else
		http_reply_json(
			ctx, 503,
			json_pack("{s:s,s:s}", "status", "unavailable", "database", "down"));
}

/* The OpenAPI document, read at each request: small, and editable without a restart. */
static void get_openapi(struct http_ctx *ctx)
{
	struct strbuf text = STRBUF_INIT;
	char chunk[8192];
	size_t n;
	FILE *f = fopen(ctx->app->cfg->openapi_file, "rb");
	if (!f) {
		log_error("openapi: cannot read %s: %s", ctx->app->cfg->openapi_file,
			  strerror(errno));
		http_reply_app_error(ctx, APP_ERR_NOT_FOUND);
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&text, chunk, n);
	fclose(f);
	ulfius_set_binary_body_response(ctx->resp, 200, strbuf_str(&text), text.len);
	http_set_header(ctx, "Content-Type", "application/vnd.oai.openapi; charset=utf-8");
	ctx->replied = 1;
	strbuf_release(&text);
}

static const struct route meta_table[] = {
	{"GET", "/api", get_routes, ROUTE_NO_AUTH},
	{"GET", "/api/health", get_health, ROUTE_NO_AUTH},
	{"GET", "/api/openapi.yaml", get_openapi, ROUTE_NO_AUTH},
};

void meta_routes(struct router *router)
{
	router_add(router, meta_table, sizeof(meta_table) / sizeof(meta_table[0]));
}
