/*
 * The "Profiles and skills" routes of API.md for profiles: the public list
 * and detail, friends, and the caller's own account (read, update, delete).
 * Skills are in api/skills.h.
 */
#ifndef DEVSEARCH_API_PROFILES_H
#define DEVSEARCH_API_PROFILES_H

#include "api/http.h"

/* Add this module's routes. */
void profiles_routes(struct router *router);

#endif
