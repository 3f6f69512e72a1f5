/* Skill JSON; see skill.h. Messages are DRF's own words. */
#include "serializers/skill.h"

#include "serializers/fields.h"

json_t *skill_read(const json_t *j_body, int partial, char **values)
{
	const struct text_rule rules[SKILL_FIELDS] = {
		[SKILL_NAME] = {"name", !partial, 0, 0, 1, 200},
		[SKILL_DESCRIPTION] = {"description", 0, 1, 0, 1, 0},
	};
	return fields_read(j_body, rules, SKILL_FIELDS, values);
}

json_t *skill_to_json(const PGresult *res, int row)
{
	return json_pack("{s:o,s:o,s:o,s:o}", "id", row_text(res, row, "id"), "name",
			 row_text(res, row, "name"), "description",
			 row_text(res, row, "description"), "created",
			 row_timestamp(res, row, "created"));
}
