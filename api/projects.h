/* The "Projects, tags, reviews" routes of API.md: projects, votes and a project's tags. */
#ifndef DEVSEARCH_API_PROJECTS_H
#define DEVSEARCH_API_PROJECTS_H

#include "api/http.h"

void projects_routes(struct router *router);

#endif
