/*
 * The staff view of a user: the PATCH body {is_active?, is_staff?} as the
 * Django version's AdminUserSerializer reads it, and user rows to {id,
 * username, email, is_active, is_staff, date_joined, last_login}. No SQL.
 */
#ifndef DEVSEARCH_SERIALIZERS_ADMIN_H
#define DEVSEARCH_SERIALIZERS_ADMIN_H

#include <jansson.h>
#include <libpq-fe.h>

/*
 * Read the booleans: *is_active and *is_staff are 0 or 1, or -1 when absent.
 * Read-only (id, username, email, dates) and unknown fields are ignored.
 * Returns the errors object (new reference), empty when the body is valid.
 */
json_t *admin_user_read_body(const json_t *j_body, int *is_active, int *is_staff);

/* The user at row of res (columns as models/admin.h lists them). New reference. */
json_t *admin_user_to_json(const PGresult *res, int row);

/* Every row of a page as a list (new reference); *count from total_count (0 for no rows). */
json_t *admin_user_list_to_json(const PGresult *res, long *count);

#endif
