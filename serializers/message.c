/*
 * Message bodies and message JSON; see message.h. The rules and messages are
 * the Django version's (MessageSerializer and its validate()). No SQL.
 */
#include "serializers/message.h"

#include <stdlib.h>

#include "serializers/fields.h"

static const char REQUIRED[] = "This field is required.";

static const struct text_rule MESSAGE_RULES[MSG_FIELDS] = {
	[MSG_SUBJECT] = {"subject", 1, 0, 0, 1, 200},
	[MSG_BODY] = {"body", 1, 0, 0, 1, 0},
	[MSG_NAME] = {"name", 0, 1, 0, 1, 200},
	[MSG_EMAIL] = {"email", 0, 1, 0, 1, 254},
};

json_t *message_read_body(const json_t *j_body, int anonymous, char *values[MSG_FIELDS])
{
	json_t *j_errors = fields_read(j_body, MESSAGE_RULES, MSG_FIELDS, values);
	char *email = values[MSG_EMAIL];

	if (email && *email && !email_is_valid(email)) {
		field_error(j_errors, "email", "Enter a valid email address.");
		free(email);
		values[MSG_EMAIL] = NULL;
	}
	/*
	 * Someone anonymous must say who they are. A field that already failed
	 * keeps its own message; an absent, blank or whitespace-only one is
	 * "required", as the Django version's validate() words it.
	 */
	if (anonymous) {
		if ((!values[MSG_NAME] || !*values[MSG_NAME]) && !json_object_get(j_errors, "name"))
			field_error(j_errors, "name", REQUIRED);
		if ((!values[MSG_EMAIL] || !*values[MSG_EMAIL]) &&
		    !json_object_get(j_errors, "email"))
			field_error(j_errors, "email", REQUIRED);
	}
	return j_errors;
}

/* {id, username, name} of the profile in columns prefix_id, prefix_username, prefix_name. */
static json_t *brief_json(const PGresult *res, int row, const char *id, const char *username,
			  const char *name)
{
	json_t *j_id = row_text(res, row, id);
	if (json_is_null(j_id))
		return j_id;
	return json_pack("{s:o,s:o,s:o}", "id", j_id, "username", row_text(res, row, username),
			 "name", row_text(res, row, name));
}

json_t *message_to_json(const PGresult *res, int row)
{
	json_t *j = json_object();
	json_object_set_new(j, "id", row_text(res, row, "id"));
	json_object_set_new(j, "sender",
			    brief_json(res, row, "sender_id", "sender_username", "sender_name"));
	json_object_set_new(
		j, "recipient",
		brief_json(res, row, "recipient_id", "recipient_username", "recipient_name"));
	json_object_set_new(j, "name", row_text(res, row, "name"));
	json_object_set_new(j, "email", row_text(res, row, "email"));
	json_object_set_new(j, "subject", row_text(res, row, "subject"));
	json_object_set_new(j, "body", row_text(res, row, "body"));
	json_object_set_new(j, "is_read", row_bool(res, row, "is_read"));
	json_object_set_new(j, "created", row_timestamp(res, row, "created"));
	return j;
}

json_t *message_list_to_json(const PGresult *res, long *count, long *unread)
{
	json_t *j = json_array();
	int rows = PQntuples(res);
	*count = rows ? atol(row_value(res, 0, "total_count")) : 0;
	*unread = rows ? atol(row_value(res, 0, "unread_count")) : 0;
	for (int i = 0; i < rows; i++)
		json_array_append_new(j, message_to_json(res, i));
	return j;
}
