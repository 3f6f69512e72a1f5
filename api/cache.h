/*
 * HTTP side of the response cache (core/response_cache.h): which answers are
 * served from and stored into it, ETag and If-None-Match, and invalidation
 * after writes. Called by the dispatcher around a route's handler, after CORS,
 * routing and Allow, so those headers stay per request on a hit.
 *
 * - Cacheable: GET or HEAD of a ROUTE_CACHED route. Such a 200 always gets
 *   an ETag (a hash of the body) and If-None-Match is honoured with a 304.
 * - Stored and served: cacheable requests without an Authorization header
 *   (answers to a logged-in caller may differ, e.g. the profile's email),
 *   200 answers only, keyed on the Host header and the path and query
 *   string exactly as received (absolute links in the bodies come from both).
 * - Invalidated: after a POST, PUT, PATCH or DELETE answered with anything
 *   but a 4xx (a refusal, made before anything was committed), unless the
 *   route is ROUTE_KEEPS_CACHE; before the answer is sent. Writes by other
 *   servers and in SQL arrive through core/cache_listener.h.
 */
#ifndef DEVSEARCH_API_CACHE_H
#define DEVSEARCH_API_CACHE_H

#include <stdint.h>

#include "api/http.h"

/* One request's view of the cache; lives on the dispatcher's stack. */
struct http_cache_request {
	int cacheable;       /* GET/HEAD of a ROUTE_CACHED route: ETag and 304 */
	int shared;          /* ... and anonymous: served from and stored into the store */
	uint64_t generation; /* taken before the handler ran */
	char *key;           /* owned; NULL unless shared */
	int hit;             /* answered from the store */
};

/*
 * Before the handler (ctx->route set). Returns 1 when the request was
 * answered from the store (200 or 304), 0 when the handler must run; either
 * way finish with http_cache_complete().
 */
int http_cache_serve(struct http_ctx *ctx, struct http_cache_request *cr);

/*
 * After the handler: ETag, store, 304 for a matching If-None-Match, or
 * invalidation after a write. Releases cr.
 */
void http_cache_complete(struct http_ctx *ctx, struct http_cache_request *cr);

#endif
