/*
 * Staff routes: GET /api/admin/users (search, pagination) and PATCH
 * /api/admin/users/{id} ({is_active?, is_staff?}; the id is a user id).
 * Anonymous callers get 401, users without is_staff 403.
 */
#ifndef DEVSEARCH_API_ADMIN_H
#define DEVSEARCH_API_ADMIN_H

#include "api/http.h"

/* Add the staff routes to router. */
void admin_routes(struct router *router);

#endif
