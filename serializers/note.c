/* Note bodies and note JSON; see note.h. No SQL. */
#include "serializers/note.h"

#include <stdlib.h>

#include "serializers/fields.h"

json_t *note_read_body(const json_t *j_body, int partial, char *values[NOTE_FIELDS])
{
	const struct text_rule rules[NOTE_FIELDS] = {
		[NOTE_TITLE] = {"title", !partial, 0, 0, 1, 200},
		[NOTE_BODY] = {"body", 0, 1, 0, 1, 0},
	};
	return fields_read(j_body, rules, NOTE_FIELDS, values);
}

json_t *note_to_json(const PGresult *res, int row)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "id", row_text(res, row, "id"), "title",
			 row_text(res, row, "title"), "body", row_text(res, row, "body"), "created",
			 row_timestamp(res, row, "created"), "updated",
			 row_timestamp(res, row, "updated"));
}

json_t *note_list_to_json(const PGresult *res, long *count)
{
	json_t *j = json_array();
	int rows = PQntuples(res);
	*count = rows ? atol(row_value(res, 0, "total_count")) : 0;
	for (int i = 0; i < rows; i++)
		json_array_append_new(j, note_to_json(res, i));
	return j;
}
