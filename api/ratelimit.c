/*
 * Rate limits at the door of every /api request; see ratelimit.h. Decides
 * the scope and key and writes headers; the counting is core/ratelimit.c's.
 */
#include "api/ratelimit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/login.h"
#include "core/ratelimit.h"

/* /api and below, except the health check (load balancers poll it; it must never be refused). */
static int path_is_limited(const char *path)
{
	if (strncmp(path, "/api", 4) || (path[4] != '\0' && path[4] != '/'))
		return 0;
	return strcmp(path, "/api/health") && strcmp(path, "/api/health/");
}

static void set_long_header(struct http_ctx *ctx, const char *name, long value)
{
	char text[24];
	snprintf(text, sizeof(text), "%ld", value);
	http_set_header(ctx, name, text);
}

void http_reply_throttled(struct http_ctx *ctx, long retry_after)
{
	char detail[96];
	snprintf(detail, sizeof(detail),
		 "Request was throttled. Expected available in %ld second%s.", retry_after,
		 retry_after == 1 ? "" : "s");
	set_long_header(ctx, "Retry-After", retry_after);
	http_reply_error(ctx, 429, "throttled", detail);
}

int http_rate_limit_or_reply(struct http_ctx *ctx, const char *path)
{
	struct rate_limiter *limiter = ctx->app->limiter;
	struct rate_decision decision;
	char key[64];
	long now = (long)time(NULL);
	int counted;

	if (!limiter || !path_is_limited(path))
		return 0;
	if (auth_token_user(ctx->app, http_header(ctx, "Authorization"), now, key))
		counted = rate_limiter_hit(limiter, RATE_USER, key, now, &decision);
	else {
		http_client_ip(ctx, key);
		counted = rate_limiter_hit(limiter, RATE_ANON, key, now, &decision);
	}
	if (!counted)
		return 0;
	set_long_header(ctx, "RateLimit-Limit", decision.limit);
	set_long_header(ctx, "RateLimit-Remaining", decision.remaining);
	set_long_header(ctx, "RateLimit-Reset", decision.reset);
	if (decision.allowed)
		return 0;
	http_reply_throttled(ctx, decision.reset);
	return 1;
}
