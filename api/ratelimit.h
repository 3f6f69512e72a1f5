/*
 * HTTP side of the rate limits (core/ratelimit.h): which requests count and
 * under which key, the RateLimit-* headers, and the 429. Called by the
 * dispatcher once per request, after CORS and before routing, so a throttled
 * request costs no routing, no database and no handler.
 */
#ifndef DEVSEARCH_API_RATELIMIT_H
#define DEVSEARCH_API_RATELIMIT_H

#include "api/http.h"

/*
 * Count the request if the limits cover it: every path under /api except
 * /api/health (not /metrics, not /media). A valid access token counts for its
 * user (RATE_LIMIT_USER), anything else for the client address
 * (RATE_LIMIT_ANON). A counted request gets RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset (exposed to CORS callers). Returns
 * 0 to go on, or 1 after answering 429 (over the limit).
 */
int http_rate_limit_or_reply(struct http_ctx *ctx, const char *path);

/*
 * Answer 429 as DRF's throttles do: Retry-After and "Request was throttled.
 * Expected available in N seconds."
 */
void http_reply_throttled(struct http_ctx *ctx, long retry_after);

#endif
