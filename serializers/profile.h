/* Profile rows (with skills, projects and friends) to the JSON of API.md. */
#ifndef DEVSEARCH_SERIALIZERS_PROFILE_H
#define DEVSEARCH_SERIALIZERS_PROFILE_H

#include <jansson.h>

#include "models/profile.h"

/*
 * The profile at row of rows->profiles, with its relations; email only when
 * include_email (the caller's own profile). New reference.
 */
json_t *profile_to_json(const struct profile_rows *rows, int row, int include_email);

#endif
