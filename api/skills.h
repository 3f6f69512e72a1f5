/* The skill routes of API.md: POST /api/skills, PUT/PATCH/DELETE /api/skills/{id}. */
#ifndef DEVSEARCH_API_SKILLS_H
#define DEVSEARCH_API_SKILLS_H

#include "api/http.h"

/* Add this module's routes. */
void skills_routes(struct router *router);

#endif
