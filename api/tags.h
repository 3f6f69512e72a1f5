/* GET /api/tags: the paginated tag list with project counts. */
#ifndef DEVSEARCH_API_TAGS_H
#define DEVSEARCH_API_TAGS_H

#include "api/http.h"

void tags_routes(struct router *router);

#endif
