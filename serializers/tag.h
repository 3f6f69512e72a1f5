/* Tag request bodies ({name}) and tag rows to the JSON of API.md. No SQL, no HTTP. */
#ifndef DEVSEARCH_SERIALIZERS_TAG_H
#define DEVSEARCH_SERIALIZERS_TAG_H

#include <jansson.h>
#include <libpq-fe.h>

/*
 * {name}: required, trimmed, not blank, <= 50 characters (DRF's
 * CharField(max_length=50)). Returns the errors object (new reference; empty
 * when valid) with *name a new string (free()) when valid.
 */
json_t *tag_name_read(const json_t *j_body, char **name);

/* {id, name} of row of res (columns id, name). New reference. */
json_t *tag_to_json(const PGresult *res, int row);

/* {id, name, project_count} of row of res. New reference. */
json_t *tag_count_to_json(const PGresult *res, int row);

#endif
