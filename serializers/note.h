/*
 * Note bodies ({title, body?}) validated as the Django version's
 * NoteSerializer, and note rows to {id, title, body, created, updated}.
 * No SQL, no HTTP.
 */
#ifndef DEVSEARCH_SERIALIZERS_NOTE_H
#define DEVSEARCH_SERIALIZERS_NOTE_H

#include <jansson.h>
#include <libpq-fe.h>

enum { NOTE_TITLE, NOTE_BODY, NOTE_FIELDS };

/*
 * Read title (at most 200, not blank) and body (may be blank) into values[]
 * (new strings, NULL when absent; release with fields_release). title is
 * required unless partial (PATCH). Returns the errors object (new reference),
 * empty when the body is valid.
 */
json_t *note_read_body(const json_t *j_body, int partial, char *values[NOTE_FIELDS]);

/* The note at row of res (id, title, body, created, updated). New reference. */
json_t *note_to_json(const PGresult *res, int row);

/* Every row of a page as a list (new reference); *count from total_count (0 for no rows). */
json_t *note_list_to_json(const PGresult *res, long *count);

#endif
