/* GET /api (the route list) and GET /api/health. */
#ifndef DEVSEARCH_API_META_H
#define DEVSEARCH_API_META_H

#include "api/http.h"

/* Add this module's routes. */
void meta_routes(struct router *router);

#endif
