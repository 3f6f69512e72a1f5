/*
 * Profile JSON and account updates; see profile.h. Relations are stitched by
 * owner_id, in their query's order. Messages are DRF's and Django's words.
 */
#include "serializers/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "serializers/fields.h"
#include "serializers/skill.h"

static const char *const PUBLIC_TEXT_FIELDS[] = {
	"location",        "short_intro",    "bio",
	"profile_image",   "social_github",  "social_twitter",
	"social_linkedin", "social_youtube", "social_website",
};

static json_t *skills_json(const PGresult *res, const char *owner)
{
	json_t *j = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		if (!strcmp(row_value(res, i, "owner_id"), owner))
			json_array_append_new(j, skill_to_json(res, i));
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
	for (size_t i = 0; i < sizeof(PUBLIC_TEXT_FIELDS) / sizeof(PUBLIC_TEXT_FIELDS[0]); i++)
		json_object_set_new(j, PUBLIC_TEXT_FIELDS[i],
				    row_text(res, row, PUBLIC_TEXT_FIELDS[i]));
	json_object_set_new(j, "birth_date", row_text(res, row, "birth_date"));
	json_object_set_new(j, "is_active", row_bool(res, row, "is_active"));
	json_object_set_new(j, "created", row_timestamp(res, row, "created"));
	json_object_set_new(j, "skills", skills_json(rows->skills, id));
	json_object_set_new(j, "projects", projects_json(rows->projects, id));
	json_object_set_new(j, "friends", friends_json(rows->friends, id));
	json_object_set_new(j, "favorite_note", row_text(res, row, "favorite_note"));
	return j;
}

json_t *profile_brief_to_json(const PGresult *res, int row)
{
	return json_pack("{s:o,s:o,s:o}", "id", row_text(res, row, "id"), "username",
			 row_text(res, row, "username"), "name", row_text(res, row, "name"));
}

/* The rules of the text columns, in enum profile_text order. */
static const struct text_rule TEXT_RULES[PROFILE_TEXT_FIELDS] = {
	[PROFILE_NAME] = {"name", 1, 0, 0, 1, 200},
	[PROFILE_LOCATION] = {"location", 0, 1, 0, 1, 200},
	[PROFILE_SHORT_INTRO] = {"short_intro", 0, 1, 0, 1, 200},
	[PROFILE_BIO] = {"bio", 0, 1, 0, 1, 0},
	[PROFILE_IMAGE] = {"profile_image", 0, 1, 0, 1, 2000},
	[PROFILE_GITHUB] = {"social_github", 0, 1, 0, 1, 2000},
	[PROFILE_TWITTER] = {"social_twitter", 0, 1, 0, 1, 2000},
	[PROFILE_LINKEDIN] = {"social_linkedin", 0, 1, 0, 1, 2000},
	[PROFILE_YOUTUBE] = {"social_youtube", 0, 1, 0, 1, 2000},
	[PROFILE_WEBSITE] = {"social_website", 0, 1, 0, 1, 2000},
};
static const struct text_rule USERNAME_RULE = {"username", 0, 0, 0, 1, 150};
static const struct text_rule EMAIL_RULE = {"email", 0, 0, 0, 1, 254};

/* Django's UnicodeUsernameValidator and EmailValidator, on a value that passed its rule. */
static char *check_identity(char *value, const char *field, json_t *j_errors)
{
	int username = !strcmp(field, "username");
	if (!value || (username ? username_is_valid(value) : email_is_valid(value)))
		return value;
	field_error(j_errors, field,
		    username ? "Enter a valid username. This value may contain only letters, "
			       "numbers, and @/./+/-/_ characters."
			     : "Enter a valid email address.");
	free(value);
	return NULL;
}

/* birth_date: a date, or null; not after today (UTC, the peer's TIME_ZONE). */
static void read_birth_date(const json_t *j_body, struct profile_changes *changes, json_t *j_errors)
{
	int present;
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	char *date = field_date(j_body, "birth_date", 1, j_errors, &present);

	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	/* Both are YYYY-MM-DD with a four-digit year: text order is date order. */
	if (date && strcmp(date, today) > 0) {
		field_error(j_errors, "birth_date", "Date cannot be in the future.");
		free(date);
		return;
	}
	if (present && (date || json_is_null(json_object_get(j_body, "birth_date")))) {
		changes->set_birth_date = 1;
		changes->birth_date = date;
	}
}

static void read_is_active(const json_t *j_body, struct profile_changes *changes, json_t *j_errors)
{
	int value;
	if (field_bool(j_body, "is_active", j_errors, &value) == 1)
		changes->is_active = value;
}

void profile_favorite_note_missing(json_t *j_errors, const char *note_id)
{
	struct strbuf msg = STRBUF_INIT;
	strbuf_addf(&msg, "Invalid pk \"%s\" - object does not exist.", note_id);
	field_error(j_errors, "favorite_note", strbuf_str(&msg));
	strbuf_release(&msg);
}

/* favorite_note as DRF's PrimaryKeyRelatedField(allow_null=True) reads it. */
static void read_favorite_note(const json_t *j_body, struct profile_changes *changes,
			       json_t *j_errors)
{
	json_t *j = json_object_get(j_body, "favorite_note");
	if (!j)
		return;
	if (json_is_null(j)) {
		changes->set_favorite_note = 1;
		return;
	}
	if (!json_is_string(j)) {
		struct strbuf msg = STRBUF_INIT;
		strbuf_addf(&msg, "Incorrect type. Expected pk value, received %s.",
			    json_python_type(j));
		field_error(j_errors, "favorite_note", strbuf_str(&msg));
		strbuf_release(&msg);
		return;
	}
	const char *id = json_string_value(j);
	/* Not a UUID: no note has that pk. */
	if (!is_uuid(id, json_string_length(j))) {
		profile_favorite_note_missing(j_errors, id);
		return;
	}
	changes->set_favorite_note = 1;
	changes->favorite_note = xstrdup(id);
}

json_t *profile_changes_read(const json_t *j_body, int partial, struct profile_changes *changes)
{
	json_t *j_errors = json_object();

	profile_changes_init(changes);
	for (size_t i = 0; i < PROFILE_TEXT_FIELDS; i++) {
		struct text_rule rule = TEXT_RULES[i];
		if (i == PROFILE_NAME)
			rule.required = !partial;
		changes->text[i] = i >= PROFILE_IMAGE ? field_url(j_body, &rule, j_errors, NULL)
						      : field_text(j_body, &rule, j_errors, NULL);
	}
	changes->username = check_identity(field_text(j_body, &USERNAME_RULE, j_errors, NULL),
					   "username", j_errors);
	changes->email =
		check_identity(field_text(j_body, &EMAIL_RULE, j_errors, NULL), "email", j_errors);
	read_birth_date(j_body, changes, j_errors);
	read_is_active(j_body, changes, j_errors);
	read_favorite_note(j_body, changes, j_errors);
	return j_errors;
}
