/* Staff user bodies and JSON; see admin.h. No SQL. */
#include "serializers/admin.h"

#include <stdlib.h>

#include "serializers/fields.h"

/* One boolean field into *out, -1 when absent or wrong. */
static void read_flag(const json_t *j_body, const char *name, json_t *j_errors, int *out)
{
	int value = 0;
	*out = field_bool(j_body, name, j_errors, &value) == 1 ? value : -1;
}

json_t *admin_user_read_body(const json_t *j_body, int *is_active, int *is_staff)
{
	json_t *j_errors = json_object();
	read_flag(j_body, "is_active", j_errors, is_active);
	read_flag(j_body, "is_staff", j_errors, is_staff);
	return j_errors;
}

json_t *admin_user_to_json(const PGresult *res, int row)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", row_text(res, row, "id"),
			 "username", row_text(res, row, "username"), "email",
			 row_text(res, row, "email"), "is_active", row_bool(res, row, "is_active"),
			 "is_staff", row_bool(res, row, "is_staff"), "date_joined",
			 row_timestamp(res, row, "date_joined"), "last_login",
			 row_timestamp(res, row, "last_login"));
}

json_t *admin_user_list_to_json(const PGresult *res, long *count)
{
	json_t *j = json_array();
	int rows = PQntuples(res);
	*count = rows ? atol(row_value(res, 0, "total_count")) : 0;
	for (int i = 0; i < rows; i++)
		json_array_append_new(j, admin_user_to_json(res, i));
	return j;
}
