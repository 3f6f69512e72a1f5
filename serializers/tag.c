/* Tag JSON in and out; see tag.h. */
#include "serializers/tag.h"

#include "serializers/fields.h"

static const struct text_rule NAME_RULE = {"name", 1, 0, 0, 1, 50};

json_t *tag_name_read(const json_t *j_body, char **name)
{
	json_t *j_errors = json_object();
	*name = field_text(j_body, &NAME_RULE, j_errors, NULL);
	return j_errors;
}

json_t *tag_to_json(const PGresult *res, int row)
{
	return json_pack("{s:o,s:o}", "id", row_text(res, row, "id"), "name",
			 row_text(res, row, "name"));
}

json_t *tag_count_to_json(const PGresult *res, int row)
{
	return json_pack("{s:o,s:o,s:o}", "id", row_text(res, row, "id"), "name",
			 row_text(res, row, "name"), "project_count",
			 row_int(res, row, "project_count"));
}
