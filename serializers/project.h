/*
 * Project request bodies (create, PUT, PATCH, vote) validated as DRF's
 * ProjectSerializer and VoteSerializer do, every error of a body at once; and
 * project rows (with their tags and reviews, fetched per set by
 * models/project.c) to the JSON of API.md, stitched by project_id in one pass.
 */
#ifndef DEVSEARCH_SERIALIZERS_PROJECT_H
#define DEVSEARCH_SERIALIZERS_PROJECT_H

#include <jansson.h>

#include "models/project.h"

#define PROJECT_MAX_TAGS 20

/* A validated project body. Owned strings; release with project_input_release(). */
struct project_input {
	char *title, *description, *featured_image, *demo_link, *source_link; /* NULL: not given */
	char **tags; /* trimmed, non-blank names, as given (duplicates resolved in SQL) */
	long ntags;  /* -1 when tags was not given */
};

/*
 * Read a project body: title (required unless partial, <= 200), description,
 * featured_image, demo_link, source_link (http(s) URLs <= 2000), tags (a list
 * of <= 20 names of <= 50 characters). Read-only and unknown keys are ignored.
 * Returns the errors object (new reference; empty when valid); *in is filled
 * either way and must be released.
 */
json_t *project_read(const json_t *j_body, int partial, struct project_input *in);
void project_input_release(struct project_input *in);

/* The model's view of the input; borrows from in. */
struct project_values project_input_values(const struct project_input *in);

/*
 * A vote {value: "up"|"down", body?}. Returns the errors object (new
 * reference; empty when valid) with *value and *body new strings (free();
 * *body "" when not given) when valid.
 */
json_t *vote_read(const json_t *j_body, char **value, char **body);

/* The project at row of rows->projects with its owner, tags and reviews. New reference. */
json_t *project_to_json(const struct project_rows *rows, int row);

/* Every project of rows->projects, in order, as a JSON array. New reference. */
json_t *project_list_to_json(const struct project_rows *rows);

#endif
