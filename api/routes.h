/* Every route of the API, gathered from each module's table. */
#ifndef DEVSEARCH_API_ROUTES_H
#define DEVSEARCH_API_ROUTES_H

#include "api/http.h"

/* A new router holding every route; caller router_free()s. */
struct router *routes_build(void);

#endif
