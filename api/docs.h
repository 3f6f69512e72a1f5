/*
 * GET /api/docs (Swagger UI over GET /api/openapi.yaml) and its static assets
 * under /api/docs/assets/, served from DOCS_ASSETS_DIR.
 */
#ifndef DEVSEARCH_API_DOCS_H
#define DEVSEARCH_API_DOCS_H

#include "api/http.h"

/* Add this module's routes. */
void docs_routes(struct router *router);

#endif
