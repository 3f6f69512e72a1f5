/* The route table and path matching; see http.h. No I/O, no allocation per match but params. */
#include <stdlib.h>
#include <string.h>

#include "api/http.h"

struct router {
	const struct route **routes;
	size_t n;
};

struct router *router_new(void)
{
	return xcalloc(1, sizeof(struct router));
}

void router_free(struct router *router)
{
	if (!router)
		return;
	free(router->routes);
	free(router);
}

void router_add(struct router *router, const struct route *routes, size_t n)
{
	router->routes = xrealloc(router->routes, (router->n + n) * sizeof(*router->routes));
	for (size_t i = 0; i < n; i++)
		router->routes[router->n++] = &routes[i];
}

size_t router_count(const struct router *router)
{
	return router->n;
}

const struct route *router_at(const struct router *router, size_t i)
{
	return i < router->n ? router->routes[i] : NULL;
}

size_t router_index_of(const struct router *router, const struct route *route)
{
	size_t i = 0;
	while (i < router->n && router->routes[i] != route)
		i++;
	return i;
}

/* Length of the segment starting at s (up to '/' or the end). */
static size_t segment_len(const char *s)
{
	return strcspn(s, "/");
}

/*
 * Match path against pattern; on success store up to HTTP_MAX_PARAMS
 * parameter (start, length) pairs. Both begin with '/'.
 */
static int pattern_match(const char *pattern, const char *path, size_t path_len,
			 const char **starts, size_t *lens, size_t *n)
{
	const char *pp = pattern, *sp = path, *end = path + path_len;

	*n = 0;
	while (*pp && sp < end) {
		if (*pp != '/' || *sp != '/')
			return 0;
		pp++;
		sp++;
		size_t plen = segment_len(pp);
		size_t slen = (size_t)(end - sp);
		const char *slash = memchr(sp, '/', slen);
		if (slash)
			slen = (size_t)(slash - sp);
		if (plen >= 2 && pp[0] == '{' && pp[plen - 1] == '}') {
			int rest = plen > 5 && !strncmp(pp + plen - 4, "...}", 4);
			if (*n == HTTP_MAX_PARAMS)
				return 0;
			if (rest) {
				slen = (size_t)(end - sp);
				if (slen == 0)
					return 0;
			} else if (!is_uuid(sp, slen)) {
				return 0;
			}
			starts[*n] = sp;
			lens[(*n)++] = slen;
		} else if (plen != slen || strncmp(pp, sp, plen)) {
			return 0;
		}
		pp += plen;
		sp += slen;
	}
	return *pp == '\0' && sp == end;
}

static int method_is(const char *a, const char *b)
{
	return !strcmp(a, b);
}

enum route_match router_match(const struct router *router, const char *method, const char *path,
			      const struct route **route, char **params, size_t *nparams,
			      struct strbuf *allow)
{
	const char *starts[HTTP_MAX_PARAMS], *match_starts[HTTP_MAX_PARAMS];
	size_t lens[HTTP_MAX_PARAMS], match_lens[HTTP_MAX_PARAMS], n = 0, match_n = 0;
	size_t path_len = strlen(path);
	int path_found = 0, has_get = 0;
	const char *want = method_is(method, "HEAD") ? "GET" : method;

	*route = NULL;
	*nparams = 0;
	/* "/api/projects/" is "/api/projects", answered directly. */
	if (path_len > 1 && path[path_len - 1] == '/')
		path_len--;

	for (size_t i = 0; i < router->n; i++) {
		const struct route *r = router->routes[i];
		if (!pattern_match(r->pattern, path, path_len, starts, lens, &n))
			continue;
		if (!path_found)
			strbuf_reset(allow);
		strbuf_addf(allow, "%s%s", path_found ? ", " : "", r->method);
		path_found = 1;
		has_get |= method_is(r->method, "GET");
		if (!*route && method_is(r->method, want)) {
			*route = r;
			memcpy(match_starts, starts, sizeof(starts));
			memcpy(match_lens, lens, sizeof(lens));
			match_n = n;
		}
	}
	if (!path_found)
		return ROUTE_NO_PATH;
	strbuf_addstr(allow, has_get ? ", HEAD, OPTIONS" : ", OPTIONS");
	if (!*route)
		return ROUTE_NO_METHOD;
	for (size_t i = 0; i < match_n; i++)
		params[i] = xstrndup(match_starts[i], match_lens[i]);
	*nparams = match_n;
	return ROUTE_MATCHED;
}
