/*
 * Project JSON in and out; see project.h. Tags and reviews come as one
 * result each for a whole set of projects and are grouped by project_id in a
 * single pass. No SQL, no HTTP.
 */
#include "serializers/project.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "serializers/fields.h"

static const struct text_rule TITLE_RULE = {"title", 1, 0, 0, 1, 200};
static const struct text_rule DESCRIPTION_RULE = {"description", 0, 1, 0, 1, 0};
static const struct text_rule URL_RULES[] = {
	{"featured_image", 0, 1, 0, 1, 2000},
	{"demo_link", 0, 1, 0, 1, 2000},
	{"source_link", 0, 1, 0, 1, 2000},
};
/* Each item of tags, as DRF's ListField(child=CharField(max_length=50)). */
static const struct text_rule TAG_ITEM_RULE = {"", 1, 0, 0, 1, 50};
static const struct text_rule VOTE_BODY_RULE = {"body", 0, 1, 0, 1, 0};
static const char *const VOTE_CHOICES[] = {"up", "down", NULL};

json_t *project_read(const json_t *j_body, int partial, struct project_input *in)
{
	json_t *j_errors = json_object();
	struct text_rule title = TITLE_RULE;

	memset(in, 0, sizeof(*in));
	title.required = !partial;
	in->title = field_text(j_body, &title, j_errors, NULL);
	in->description = field_text(j_body, &DESCRIPTION_RULE, j_errors, NULL);
	in->featured_image = field_url(j_body, &URL_RULES[0], j_errors, NULL);
	in->demo_link = field_url(j_body, &URL_RULES[1], j_errors, NULL);
	in->source_link = field_url(j_body, &URL_RULES[2], j_errors, NULL);
	in->ntags = field_string_list(j_body, "tags", 0, PROJECT_MAX_TAGS, &TAG_ITEM_RULE, j_errors,
				      &in->tags);
	return j_errors;
}

void project_input_release(struct project_input *in)
{
	free(in->title);
	free(in->description);
	free(in->featured_image);
	free(in->demo_link);
	free(in->source_link);
	if (in->tags) {
		for (long i = 0; i < in->ntags; i++)
			free(in->tags[i]);
		free(in->tags);
	}
	memset(in, 0, sizeof(*in));
}

struct project_values project_input_values(const struct project_input *in)
{
	struct project_values v = {in->title, in->description, in->featured_image, in->demo_link,
				   in->source_link};
	return v;
}

json_t *vote_read(const json_t *j_body, char **value, char **body)
{
	json_t *j_errors = json_object();
	*value = field_choice(j_body, "value", 1, VOTE_CHOICES, j_errors, NULL);
	*body = field_text(j_body, &VOTE_BODY_RULE, j_errors, NULL);
	if (json_object_size(j_errors)) {
		free(*value);
		free(*body);
		*value = *body = NULL;
	} else if (!*body) {
		*body = xstrdup("");
	}
	return j_errors;
}

/* Append j_item (stolen) to j_groups[key], a list created on first use. */
static void group_append(json_t *j_groups, const char *key, json_t *j_item)
{
	json_t *j_list = json_object_get(j_groups, key);
	if (!j_list) {
		j_list = json_array();
		json_object_set_new(j_groups, key, j_list);
	}
	json_array_append_new(j_list, j_item);
}

/* {project_id: [{id, name}, ...]}. New reference. */
static json_t *tags_by_project(const PGresult *res)
{
	json_t *j_groups = json_object();
	for (int i = 0; res && i < PQntuples(res); i++)
		group_append(j_groups, row_value(res, i, "project_id"),
			     json_pack("{s:o,s:o}", "id", row_text(res, i, "id"), "name",
				       row_text(res, i, "name")));
	return j_groups;
}

/* {project_id: [{id, owner: {id, username, name}, body, value, created}, ...]}. New reference. */
static json_t *reviews_by_project(const PGresult *res)
{
	json_t *j_groups = json_object();
	for (int i = 0; res && i < PQntuples(res); i++) {
		json_t *j_owner = json_pack("{s:o,s:o,s:o}", "id", row_text(res, i, "owner_id"),
					    "username", row_text(res, i, "owner_username"), "name",
					    row_text(res, i, "owner_name"));
		group_append(j_groups, row_value(res, i, "project_id"),
			     json_pack("{s:o,s:o,s:o,s:o,s:o}", "id", row_text(res, i, "id"),
				       "owner", j_owner, "body", row_text(res, i, "body"), "value",
				       row_text(res, i, "value"), "created",
				       row_timestamp(res, i, "created")));
	}
	return j_groups;
}

/* A group's list (new reference), or a new empty list. */
static json_t *group_take(json_t *j_groups, const char *key)
{
	json_t *j_list = json_object_get(j_groups, key);
	return j_list ? json_incref(j_list) : json_array();
}

/* One project; j_tags and j_reviews are the groups (borrowed). New reference. */
static json_t *project_json(const PGresult *res, int row, json_t *j_tags, json_t *j_reviews)
{
	const char *id = row_value(res, row, "id");
	json_t *j_owner = json_null();
	if (!PQgetisnull(res, row, PQfnumber(res, "owner_id")))
		j_owner = json_pack("{s:o,s:o,s:o,s:o}", "id", row_text(res, row, "owner_id"),
				    "username", row_text(res, row, "owner_username"), "name",
				    row_text(res, row, "owner_name"), "profile_image",
				    row_text(res, row, "owner_profile_image"));
	json_t *j = json_object();
	json_object_set_new(j, "id", row_text(res, row, "id"));
	json_object_set_new(j, "title", row_text(res, row, "title"));
	json_object_set_new(j, "description", row_text(res, row, "description"));
	json_object_set_new(j, "featured_image", row_text(res, row, "featured_image"));
	json_object_set_new(j, "demo_link", row_text(res, row, "demo_link"));
	json_object_set_new(j, "source_link", row_text(res, row, "source_link"));
	json_object_set_new(j, "vote_total", row_int(res, row, "vote_total"));
	json_object_set_new(j, "vote_ratio", row_int(res, row, "vote_ratio"));
	json_object_set_new(j, "created", row_timestamp(res, row, "created"));
	json_object_set_new(j, "owner", j_owner);
	json_object_set_new(j, "tags", group_take(j_tags, id));
	json_object_set_new(j, "reviews", group_take(j_reviews, id));
	return j;
}

json_t *project_to_json(const struct project_rows *rows, int row)
{
	json_t *j_tags = tags_by_project(rows->tags);
	json_t *j_reviews = reviews_by_project(rows->reviews);
	json_t *j = project_json(rows->projects, row, j_tags, j_reviews);
	json_decref(j_tags);
	json_decref(j_reviews);
	return j;
}

json_t *project_list_to_json(const struct project_rows *rows)
{
	json_t *j_tags = tags_by_project(rows->tags);
	json_t *j_reviews = reviews_by_project(rows->reviews);
	json_t *j_list = json_array();
	for (int i = 0; i < PQntuples(rows->projects); i++)
		json_array_append_new(j_list, project_json(rows->projects, i, j_tags, j_reviews));
	json_decref(j_tags);
	json_decref(j_reviews);
	return j_list;
}
