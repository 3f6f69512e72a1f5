/*
 * The message body of POST /api/profiles/{id}/messages, validated as the
 * Django version's MessageSerializer, and message rows to the JSON of API.md.
 * No SQL, no HTTP.
 */
#ifndef DEVSEARCH_SERIALIZERS_MESSAGE_H
#define DEVSEARCH_SERIALIZERS_MESSAGE_H

#include <jansson.h>
#include <libpq-fe.h>

enum { MSG_SUBJECT, MSG_BODY, MSG_NAME, MSG_EMAIL, MSG_FIELDS };

/*
 * Read {subject, body, name?, email?} into values[] (new strings or NULL;
 * release with fields_release). subject (at most 200) and body are required;
 * name (at most 200) and email (a valid address) are optional for a logged-in
 * sender but required for an anonymous one (anonymous != 0). Returns the
 * errors object (new reference), empty when the body is valid; every field's
 * errors are reported at once.
 */
json_t *message_read_body(const json_t *j_body, int anonymous, char *values[MSG_FIELDS]);

/*
 * The message at row of res (columns as models/message.h lists them) as
 * {id, sender: {id, username, name} or null, recipient: {...}, name, email,
 * subject, body, is_read, created}. New reference.
 */
json_t *message_to_json(const PGresult *res, int row);

/*
 * Every row of an inbox page (models/message.h's message_inbox) as a list
 * (new reference), with the inbox's size and unread count from its window
 * columns into *count and *unread (0 for no rows).
 */
json_t *message_list_to_json(const PGresult *res, long *count, long *unread);

#endif
