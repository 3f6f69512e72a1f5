/*
 * Fuzz target: path routing (api/router.c's router_match) with the real route
 * table from routes_build(). Half the inputs are a method and a raw path; the
 * other half build a path from a real route's pattern, its {id} segments
 * filled with UUIDs or with input text, its {name...} tail with input text,
 * and a trailing slash or not. A path built from a pattern with UUIDs must be
 * found with its route's method; whatever matches must hold its parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/routes.h"
#include "tests/fuzz/fuzz_input.h"

static struct router *router;

static const char *const methods[] = {"GET",    "HEAD",    "POST",  "PUT", "PATCH",
				      "DELETE", "OPTIONS", "TRACE", "get", ""};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

static const char *const uuids[] = {"00000000-0000-4000-8000-000000000000",
				    "6F9619FF-8B86-D011-B42D-00C04FC964FF"};

static void die(const char *what, const char *method, const char *path)
{
	fprintf(stderr, "fuzz_routing: %s: %s %s\n", what, method, path);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	router = routes_build();
	return 0;
}

/* Match and check what a match says; returns the result. */
static enum route_match match(const char *method, const char *path)
{
	const struct route *route = NULL;
	char *params[HTTP_MAX_PARAMS];
	size_t nparams = 0;
	struct strbuf allow = STRBUF_INIT;
	const char *want = strcmp(method, "HEAD") ? method : "GET";

	enum route_match r = router_match(router, method, path, &route, params, &nparams, &allow);
	if (r == ROUTE_MATCHED) {
		if (!route || strcmp(route->method, want) || nparams > HTTP_MAX_PARAMS)
			die("a match with the wrong route", method, path);
		for (size_t i = 0; i < nparams; i++) {
			if (!params[i] || !params[i][0] || !strstr(path, params[i]))
				die("a parameter not taken from the path", method, path);
			free(params[i]);
		}
	} else if (route || nparams) {
		die("no match, yet a route", method, path);
	}
	if (r != ROUTE_NO_PATH && !strstr(strbuf_str(&allow), "OPTIONS"))
		die("an Allow header without OPTIONS", method, path);
	strbuf_release(&allow);
	return r;
}

/* A path from route's pattern; *exact is 1 when every parameter is a real UUID. */
static char *path_from_pattern(const struct route *route, struct fuzz_input *in, int *exact)
{
	struct strbuf path = STRBUF_INIT;
	const char *p = route->pattern;

	*exact = 1;
	while (*p) {
		const char *open = strchr(p, '{');
		if (!open) {
			strbuf_addstr(&path, p);
			break;
		}
		strbuf_add(&path, p, (size_t)(open - p));
		const char *close = strchr(open, '}');
		if (!close)
			break;
		uint8_t how = fuzz_byte(in);
		int rest = close - open > 4 && !strncmp(close - 3, "...", 3);
		if (how % 4 && !rest) {
			strbuf_addstr(&path, uuids[how % 2]);
		} else {
			char *text = fuzz_text(in, 80, NULL);
			strbuf_addstr(&path, text);
			/* A tail matches any text (a last slash is dropped); a segment only a UUID. */
			if (rest ? !text[0] || text[strlen(text) - 1] == '/'
				 : !is_uuid(text, strlen(text)))
				*exact = 0;
			free(text);
		}
		p = close + 1;
	}
	if (fuzz_byte(in) & 1)
		strbuf_addch(&path, '/');
	return strbuf_detach(&path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	uint8_t how = fuzz_byte(&in);
	const char *method = methods[fuzz_byte(&in) % N_METHODS];
	char *path;

	if (how & 1) {
		path = fuzz_cstring(in.data, in.left);
		(void)match(method, path);
	} else {
		const struct route *route =
			router_at(router, fuzz_byte(&in) % router_count(router));
		int exact;
		path = path_from_pattern(route, &in, &exact);
		enum route_match r = match(method, path);
		if (exact && r == ROUTE_NO_PATH)
			die("a route's own path not found", method, path);
		if (exact && match(route->method, path) != ROUTE_MATCHED)
			die("a route's own path and method not matched", route->method, path);
	}
	free(path);
	return 0;
}
