/* The "Users and tokens" routes of API.md. */
#ifndef DEVSEARCH_API_USERS_H
#define DEVSEARCH_API_USERS_H

#include "api/http.h"

void users_routes(struct router *router);

#endif
