/* GET /api/tags: the paginated tag list with project counts. */
#ifndef DEVSEARCH_API_TAGS_H
#define DEVSEARCH_API_TAGS_H

#include "api/http.h"

void tags_routes(struct router *router);

/*
 * A query parameter trimmed of surrounding whitespace, as the Django version's
 * query_param() reads it: a new string (free()), "" when absent.
 */
char *query_trimmed(const struct http_ctx *ctx, const char *name);

#endif
