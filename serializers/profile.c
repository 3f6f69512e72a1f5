/* Profile JSON; see profile.h. Relations are stitched by owner_id, in their query's order. */
#include "serializers/profile.h"

#include <string.h>

#include "serializers/fields.h"

static const char *const PROFILE_TEXT_FIELDS[] = {
	"location",        "short_intro",    "bio",
	"profile_image",   "social_github",  "social_twitter",
	"social_linkedin", "social_youtube", "social_website",
};

static json_t *skills_json(const PGresult *res, const char *owner)
{
	json_t *j = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		if (strcmp(row_value(res, i, "owner_id"), owner))
			continue;
		json_array_append_new(j,
				      json_pack("{s:o,s:o,s:o,s:o}", "id", row_text(res, i, "id"),
						"name", row_text(res, i, "name"), "description",
						row_text(res, i, "description"), "created",
						row_timestamp(res, i, "created")));
	}
	return j;
}

static json_t *projects_json(const PGresult *res, const char *owner)
{
	json_t *j = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		if (!strcmp(row_value(res, i, "owner_id"), owner))
			json_array_append_new(j,
					      json_pack("{s:o,s:o}", "id", row_text(res, i, "id"),
							"title", row_text(res, i, "title")));
	return j;
}

static json_t *friends_json(const PGresult *res, const char *owner)
{
	json_t *j = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		if (!strcmp(row_value(res, i, "owner_id"), owner))
			json_array_append_new(j, json_pack("{s:o,s:o,s:o}", "id",
							   row_text(res, i, "id"), "username",
							   row_text(res, i, "username"), "name",
							   row_text(res, i, "name")));
	return j;
}

json_t *profile_to_json(const struct profile_rows *rows, int row, int include_email)
{
	const PGresult *res = rows->profiles;
	const char *id = row_value(res, row, "id");
	json_t *j = json_object();

	json_object_set_new(j, "id", row_text(res, row, "id"));
	json_object_set_new(j, "username", row_text(res, row, "username"));
	json_object_set_new(j, "name", row_text(res, row, "name"));
	if (include_email)
		json_object_set_new(j, "email", row_text(res, row, "email"));
	for (size_t i = 0; i < sizeof(PROFILE_TEXT_FIELDS) / sizeof(PROFILE_TEXT_FIELDS[0]); i++)
		json_object_set_new(j, PROFILE_TEXT_FIELDS[i],
				    row_text(res, row, PROFILE_TEXT_FIELDS[i]));
	json_object_set_new(j, "birth_date", row_text(res, row, "birth_date"));
	json_object_set_new(j, "is_active", row_bool(res, row, "is_active"));
	json_object_set_new(j, "created", row_timestamp(res, row, "created"));
	json_object_set_new(j, "skills", skills_json(rows->skills, id));
	json_object_set_new(j, "projects", projects_json(rows->projects, id));
	json_object_set_new(j, "friends", friends_json(rows->friends, id));
	json_object_set_new(j, "favorite_note", row_text(res, row, "favorite_note"));
	return j;
}
